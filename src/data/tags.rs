//! Entity tag sequences: the schemes (IOB1, IOB2, BIOES, IO), found from
//! the data or declared, converted to the IOB2 tags a model learns, and
//! entity spans read back from tags the way seqeval reads them.

use serde::{Deserialize, Serialize};

/// How a corpus marks entity boundaries in its tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `I-X` inside and at the start; `B-X` only where a mention directly
    /// follows another of the same type (CoNLL-2003's original files).
    Iob1,
    /// Every mention starts with `B-X` (BIO).
    #[serde(alias = "bio")]
    Iob2,
    /// `B-` begin, `I-` inside, `E-` end, `S-` a one-word mention.
    Bioes,
    /// `I-X` only: adjacent mentions of one type cannot be told apart.
    Io,
}

impl Scheme {
    pub const ALL: [Scheme; 4] = [Scheme::Iob1, Scheme::Iob2, Scheme::Bioes, Scheme::Io];

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Iob1 => "iob1",
            Scheme::Iob2 => "iob2",
            Scheme::Bioes => "bioes",
            Scheme::Io => "io",
        }
    }
}

impl std::str::FromStr for Scheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let s = if s == "bio" { "iob2".into() } else { s };
        Scheme::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| format!("unknown tag scheme '{s}' (iob1, iob2/bio, bioes or io)"))
    }
}

/// The prefix letter and the type of a tag (`B-PER` → ('B', "PER"); `O`
/// → ('O', "")).
pub fn split_tag(tag: &str) -> (char, &str) {
    if tag == "O" {
        return ('O', "");
    }
    let mut chars = tag.chars();
    let p = chars.next().unwrap_or('O');
    let rest = chars.as_str();
    (p, rest.strip_prefix('-').unwrap_or(rest))
}

/// Why a tag cannot be read in a scheme.
#[derive(Clone, Debug, PartialEq)]
pub struct TagProblem {
    /// 0-based position in the sentence.
    pub index: usize,
    pub message: String,
}

/// Whether `tag` is shaped as a tag at all (`O`, or `P-TYPE` with P one
/// of B, I, E, S).
pub fn well_formed(tag: &str) -> bool {
    if tag == "O" {
        return true;
    }
    let (p, t) = split_tag(tag);
    matches!(p, 'B' | 'I' | 'E' | 'S') && tag[1..].starts_with('-') && !t.is_empty()
}

/// The scheme of a corpus's sentences: BIOES when `E-`/`S-` appear;
/// otherwise IOB1 when more mentions open with `I-X` (after `O` or another
/// type) than with `B-X`, IO when there is no `B-` at all, else IOB2.
pub fn detect<'a>(sentences: impl IntoIterator<Item = &'a [String]>) -> Scheme {
    let (mut b_starts, mut i_starts, mut any_b, mut es) = (0usize, 0usize, false, false);
    for tags in sentences {
        let mut prev = ('O', "");
        for t in tags {
            let (p, ty) = split_tag(t);
            match p {
                'E' | 'S' => es = true,
                'B' => {
                    any_b = true;
                    if prev.0 == 'O' || prev.1 != ty {
                        b_starts += 1;
                    }
                }
                'I' if prev.0 == 'O' || prev.1 != ty => i_starts += 1,
                _ => {}
            }
            prev = (p, ty);
        }
    }
    if es {
        Scheme::Bioes
    } else if !any_b {
        Scheme::Io
    } else if i_starts > b_starts {
        Scheme::Iob1
    } else {
        Scheme::Iob2
    }
}

/// `tags` in `scheme` rewritten as IOB2. In IOB2 an `I-X` that opens a
/// mention is a problem unless `lenient`, which makes it `B-X`; the
/// second value counts such repairs.
pub fn to_iob2(
    tags: &[String],
    scheme: Scheme,
    lenient: bool,
) -> Result<(Vec<String>, usize), TagProblem> {
    let mut out = Vec::with_capacity(tags.len());
    let mut repaired = 0;
    let mut prev = ('O', String::new());
    for (index, tag) in tags.iter().enumerate() {
        if !well_formed(tag) {
            return Err(TagProblem {
                index,
                message: format!("'{tag}' is not a tag (O, or B-/I-/E-/S- and a type)"),
            });
        }
        let (p, ty) = split_tag(tag);
        let opens = prev.0 == 'O' || prev.1 != ty;
        let new = match (scheme, p) {
            (_, 'O') => "O".to_string(),
            (Scheme::Bioes, 'B' | 'S') => format!("B-{ty}"),
            (Scheme::Bioes, 'I' | 'E') if opens => {
                return Err(TagProblem {
                    index,
                    message: format!(
                        "'{tag}' continues a mention, but the tag before it is '{}' (BIOES)",
                        tags.get(index.wrapping_sub(1)).map_or("start", |s| s)
                    ),
                })
            }
            (Scheme::Bioes, _) => format!("I-{ty}"),
            (_, 'E' | 'S') => {
                return Err(TagProblem {
                    index,
                    message: format!(
                        "'{tag}' is a BIOES tag, but the scheme is {}",
                        scheme.name()
                    ),
                })
            }
            (Scheme::Io, 'B') => {
                return Err(TagProblem {
                    index,
                    message: format!("'{tag}': the IO scheme has no B- tags"),
                })
            }
            (Scheme::Iob1 | Scheme::Io, 'I') if opens => format!("B-{ty}"),
            (Scheme::Iob2, 'I') if opens => {
                if !lenient {
                    return Err(TagProblem {
                        index,
                        message: format!(
                            "'{tag}' opens a mention after '{}', which IOB2 does not allow (set tag_scheme = \"iob1\" if the file is IOB1, or lenient_tags = true to make it B-{ty})",
                            tags.get(index.wrapping_sub(1)).map_or("the sentence start", |s| s)
                        ),
                    });
                }
                repaired += 1;
                format!("B-{ty}")
            }
            (_, p) => format!("{p}-{ty}"),
        };
        prev = (p, ty.to_string());
        out.push(new);
    }
    Ok((out, repaired))
}

/// One mention: its type and the words `start..end` (end exclusive).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    pub label: String,
    pub start: usize,
    pub end: usize,
}

/// The mentions of a tag sequence as seqeval's default mode reads them
/// (conlleval's rules: any scheme, an `I-X` after `O` opens a mention).
pub fn entities(tags: &[impl AsRef<str>]) -> Vec<Span> {
    let mut out = Vec::new();
    let (mut prev_tag, mut prev_type) = ('O', String::new());
    let mut begin = 0;
    let parts = |t: &str| -> (char, String) {
        let tag = t.chars().next().unwrap_or('O');
        // seqeval: chunk[1:].split('-', 1)[-1] or '_'
        let rest: String = t.chars().skip(1).collect();
        let ty = rest.split_once('-').map_or(rest.clone(), |(_, b)| b.into());
        (tag, if ty.is_empty() { "_".into() } else { ty })
    };
    for i in 0..=tags.len() {
        let (tag, ty) = if i < tags.len() {
            parts(tags[i].as_ref())
        } else {
            ('O', "_".into())
        };
        if chunk_ends(prev_tag, tag, &prev_type, &ty) {
            out.push(Span {
                label: prev_type.clone(),
                start: begin,
                end: i,
            });
        }
        if chunk_starts(prev_tag, tag, &prev_type, &ty) {
            begin = i;
        }
        prev_tag = tag;
        prev_type = ty;
    }
    out
}

fn chunk_ends(prev: char, tag: char, prev_type: &str, ty: &str) -> bool {
    matches!(prev, 'E' | 'S')
        || (matches!(prev, 'B' | 'I') && matches!(tag, 'B' | 'S' | 'O'))
        || (prev != 'O' && prev != '.' && prev_type != ty)
}

fn chunk_starts(prev: char, tag: char, prev_type: &str, ty: &str) -> bool {
    matches!(tag, 'B' | 'S')
        || (matches!(prev, 'E' | 'S' | 'O') && matches!(tag, 'E' | 'I'))
        || (tag != 'O' && tag != '.' && prev_type != ty)
}

/// The mentions of an IOB2 sequence as seqeval's strict mode reads them
/// (`mode="strict", scheme=IOB2`): a mention opens only at `B-X` and runs
/// over the `I-X` of the same type that follow; an `I-X` anywhere else is
/// no mention.
pub fn entities_strict(tags: &[impl AsRef<str>]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tags.len() {
        let (p, ty) = split_tag(tags[i].as_ref());
        if p != 'B' {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < tags.len() {
            let (q, t2) = split_tag(tags[end].as_ref());
            if q == 'I' && t2 == ty {
                end += 1;
            } else {
                break;
            }
        }
        out.push(Span {
            label: if ty.is_empty() { "_".into() } else { ty.into() },
            start: i,
            end,
        });
        i = end;
    }
    out
}

/// The entity types of a tag set (`B-PER`, `I-PER`, `O` → `PER`), sorted.
pub fn types_of<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = tags
        .into_iter()
        .filter(|t| *t != "O")
        .map(|t| split_tag(t).1.to_string())
        .collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn iob1_becomes_iob2() {
        let (t, n) = to_iob2(&v("I-PER I-PER O I-LOC B-LOC I-ORG"), Scheme::Iob1, false).unwrap();
        assert_eq!(t, v("B-PER I-PER O B-LOC B-LOC B-ORG"));
        assert_eq!(n, 0);
    }

    #[test]
    fn bioes_becomes_iob2_and_a_dangling_end_is_named() {
        let (t, _) = to_iob2(&v("S-PER O B-LOC I-LOC E-LOC"), Scheme::Bioes, false).unwrap();
        assert_eq!(t, v("B-PER O B-LOC I-LOC I-LOC"));
        let e = to_iob2(&v("O E-LOC"), Scheme::Bioes, false).unwrap_err();
        assert_eq!(e.index, 1);
    }

    #[test]
    fn strict_iob2_refuses_an_opening_i_and_lenient_repairs_it() {
        let tags = v("O I-MISC I-MISC B-PER");
        let e = to_iob2(&tags, Scheme::Iob2, false).unwrap_err();
        assert_eq!(e.index, 1);
        assert!(e.message.contains("lenient_tags"), "{}", e.message);
        let (t, n) = to_iob2(&tags, Scheme::Iob2, true).unwrap();
        assert_eq!((t, n), (v("O B-MISC I-MISC B-PER"), 1));
        assert!(to_iob2(&v("O X-PER"), Scheme::Iob2, false).is_err());
        assert!(to_iob2(&v("O PER"), Scheme::Iob2, false).is_err());
    }

    #[test]
    fn detects_each_scheme() {
        let d = |s: &[&str]| {
            let seqs: Vec<Vec<String>> = s.iter().map(|x| v(x)).collect();
            detect(seqs.iter().map(Vec::as_slice))
        };
        assert_eq!(d(&["I-PER O I-LOC", "I-ORG B-ORG"]), Scheme::Iob1);
        assert_eq!(d(&["B-PER I-PER O B-LOC"]), Scheme::Iob2);
        assert_eq!(d(&["S-PER O B-LOC E-LOC"]), Scheme::Bioes);
        assert_eq!(d(&["I-PER O I-LOC"]), Scheme::Io);
    }

    #[test]
    fn default_and_strict_modes_differ_on_an_opening_i() {
        let tags = v("I-PER I-PER O B-LOC I-ORG B-MISC I-MISC");
        let s = |l: &str, a, b| Span {
            label: l.into(),
            start: a,
            end: b,
        };
        assert_eq!(
            entities(&tags),
            vec![
                s("PER", 0, 2),
                s("LOC", 3, 4),
                s("ORG", 4, 5),
                s("MISC", 5, 7)
            ]
        );
        assert_eq!(
            entities_strict(&tags),
            vec![s("LOC", 3, 4), s("MISC", 5, 7)]
        );
    }
}
