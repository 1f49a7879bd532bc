//! Key names people bring from transformers' `TrainingArguments`, taken as
//! ours with a note, and the nearest known keys for a key we do not know.

use super::keys;

/// (transformers' name, ours). `seed`, `weight_decay`, `warmup_ratio`,
/// `max_grad_norm` and `max_steps` are spelled the same in both.
pub const ALIASES: &[(&str, &str)] = &[
    ("learning_rate", "lr"),
    ("num_train_epochs", "epochs"),
    ("per_device_train_batch_size", "batch_size"),
    ("train_batch_size", "batch_size"),
    ("gradient_accumulation_steps", "grad_accum"),
    ("lr_scheduler_type", "schedule"),
    ("max_seq_length", "max_len"),
    ("max_length", "max_len"),
    ("eval_steps", "eval_every"),
    ("logging_steps", "log_every"),
    ("early_stopping_patience", "patience"),
    ("metric_for_best_model", "best_metric"),
    ("adam_epsilon", "adam_eps"),
];

/// Our key for `key`: itself when known, the alias's target, else None.
pub fn canonical_key(key: &str) -> Option<&'static str> {
    if let Some(k) = keys().iter().find(|k| **k == key) {
        return Some(k);
    }
    ALIASES.iter().find(|(a, _)| *a == key).map(|(_, k)| *k)
}

/// The one-line note for a transformers name taken as ours.
pub fn alias_note(key: &str) -> Option<String> {
    if keys().contains(&key) {
        return None;
    }
    let ours = ALIASES.iter().find(|(a, _)| *a == key)?.1;
    Some(format!(
        "note: '{key}' (transformers' name) is tunebench's '{ours}'; taken as {ours}"
    ))
}

/// Up to three known keys nearest to `key` by edit distance (normalized
/// Damerau-Levenshtein, or a shared prefix such as `warmup` → `warmup_ratio`).
pub fn nearest_keys(key: &str) -> Vec<&'static str> {
    let mut scored: Vec<(f64, &'static str)> = keys()
        .iter()
        .copied()
        .filter(|k| *k != "search")
        .map(|k| {
            let mut s = strsim::normalized_damerau_levenshtein(k, key);
            if key.len() >= 3 && (k.starts_with(key) || key.starts_with(k)) {
                s = s.max(0.7);
            }
            (s, k)
        })
        .filter(|(s, _)| *s >= 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

/// "unknown key 'K'; did you mean 'a' or 'b'?" (or where the keys are listed).
pub fn unknown_key_message(key: &str) -> String {
    let near = nearest_keys(key);
    if near.is_empty() {
        return format!(
            "unknown key '{key}' (`tunebench train --help` and README's key table list them)"
        );
    }
    let quoted: Vec<String> = near.iter().map(|k| format!("'{k}'")).collect();
    let list = match quoted.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => unreachable!(),
    };
    format!("unknown key '{key}'; did you mean {list}?")
}

/// The 1-based line of a top-level `key = ...` in TOML text (before the
/// first table header), if it is there.
pub fn line_of_key(text: &str, key: &str) -> Option<usize> {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with('[') {
            return None;
        }
        let name = t.split('=').next().unwrap_or("").trim();
        let name = name.trim_matches('"').trim_matches('\'');
        if t.contains('=') && name == key {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_names_a_real_key() {
        for (alias, ours) in ALIASES {
            assert!(keys().contains(ours), "{alias} → {ours}");
            assert_eq!(canonical_key(alias), Some(*ours));
        }
    }

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(nearest_keys("epoch").first(), Some(&"epochs"));
        assert_eq!(nearest_keys("batchsize").first(), Some(&"batch_size"));
        assert!(nearest_keys("warmup").contains(&"warmup_ratio"));
        assert!(unknown_key_message("max_lenght").contains("did you mean 'max_len'"));
        assert!(nearest_keys("zzzzzzzzzzzz").is_empty());
    }

    #[test]
    fn lines_of_top_level_keys() {
        let text = "model = \"x\"\n\n  lr = -1\n[search]\nlr = { log_uniform = [1e-5, 1e-4] }\n";
        assert_eq!(line_of_key(text, "lr"), Some(3));
        assert_eq!(line_of_key(text, "model"), Some(1));
        assert_eq!(line_of_key(text, "epochs"), None);
    }
}
