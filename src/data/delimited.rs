//! CSV and TSV corpora (quoted fields, CRLF, ragged rows and unclosed
//! quotes named by line).

use super::columns::{binary_cell, join_fields, resolve_columns};
use super::rows::RowBuilder;
use super::DataError;

pub(super) fn read_delimited(
    bytes: &[u8],
    delimiter: u8,
    quoting: bool,
    b: &mut RowBuilder,
) -> Result<(), DataError> {
    let format = if quoting { "CSV" } else { "TSV" };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(quoting)
        .flexible(true)
        .has_headers(!b.opts.no_header)
        .from_reader(bytes);
    // Line numbers from byte offsets: the csv crate's own line count is off
    // by one for files with CRLF line endings.
    let newlines: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == b'\n')
        .map(|(i, _)| i)
        .collect();
    let line_of = |byte: u64| newlines.partition_point(|&nl| (nl as u64) <= byte) as u64 + 1;
    let malformed = |b: &RowBuilder, e: csv::Error| {
        let line = e.position().map(|p| line_of(p.byte())).unwrap_or(0);
        DataError::Malformed {
            path: b.path.clone(),
            line,
            format,
            message: e.to_string(),
        }
    };
    let headers = reader.byte_headers().map_err(|e| malformed(b, e))?.clone();
    let names: Vec<String> = if b.opts.no_header {
        (0..headers.len()).map(|i| i.to_string()).collect()
    } else {
        headers
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect()
    };
    let cols = resolve_columns(b, &names)?;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(malformed(b, e)),
        }
        let line = record.position().map(|p| line_of(p.byte())).unwrap_or(0);
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            continue; // a blank line
        }
        if record.len() != names.len() {
            // A quote left open swallows the following lines into one
            // field, so the row comes up short; say that, not "ragged".
            let spanned = record
                .iter()
                .map(|f| f.iter().filter(|&&c| c == b'\n').count())
                .sum::<usize>()
                // (an open quote at the end of the file keeps its last newline)
                - usize::from(record.iter().next_back().is_some_and(|f| f.ends_with(b"\n")));
            return Err(if spanned > 0 {
                DataError::UnclosedQuote {
                    path: b.path.clone(),
                    line,
                    lines: spanned + 1,
                    expected: names.len(),
                    found: record.len(),
                }
            } else {
                DataError::RaggedRow {
                    path: b.path.clone(),
                    line,
                    expected: names.len(),
                    found: record.len(),
                }
            });
        }
        let text = cols
            .text
            .iter()
            .map(|&c| b.decode(&record[c], line, &names[c]))
            .collect::<Result<Vec<_>, _>>()?;
        let text = if text.len() == 1 {
            text.into_iter().next().unwrap_or_default()
        } else {
            join_fields(text)
        };
        let label = match cols.label {
            Some(i) => Some(b.decode(&record[i], line, &names[i])?),
            None => None,
        };
        let text_b = match cols.text_b {
            Some(i) => Some(b.decode(&record[i], line, &names[i])?),
            None => None,
        };
        if cols.wide.is_empty() {
            b.push_pair(line, text, text_b, label)?;
            continue;
        }
        let mut set = Vec::new();
        for &c in &cols.wide {
            let cell = b.decode(&record[c], line, &names[c])?;
            match binary_cell(&cell) {
                Some(true) => set.push(names[c].clone()),
                Some(false) => {}
                None => {
                    return Err(DataError::NotBinary {
                        path: b.path.clone(),
                        line,
                        column: names[c].clone(),
                        found: cell,
                    })
                }
            }
        }
        b.push_label_set(line, text, text_b, set)?;
    }
    Ok(())
}
