//! The architecture's layers (DESIGN.md), checked over the code: a module
//! may use its own layer and the ones below, never one above, and no two
//! top-level modules may use each other in a circle. This list is the one
//! place the layers are written down for the code; CONTRIBUTING.md explains
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules of `src/`, from the top layer down.
const LAYERS: &[(&str, &[&str])] = &[
    ("front ends", &["main", "cli", "tui", "serve"]),
    (
        "engine",
        &[
            "bench",
            "label",
            "runs",
            "remote",
            "train",
            "sweep",
            "predict",
            "fill_mask",
            "evaluation",
            "entities",
            "precision_check",
            "explain",
            "device",
            "run_dir",
            "protocol",
        ],
    ),
    ("ML core", &["model", "text", "error"]),
    (
        "data",
        &["data", "config", "disk", "rng", "build_info", "test_util"],
    ),
];

/// Modules every layer above the ML core shares: they may use only the data
/// layer (and each other's own files), nothing of the engine or front ends.
const LEAVES: &[&str] = &["protocol"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The top-level module a file under `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules `text` names through `crate::X` (the library) or
/// `tunebench::X` (the binary's files), in `use` lines and inline paths.
fn used_modules(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for prefix in ["crate::", "tunebench::"] {
            let mut rest = code;
            while let Some(i) = rest.find(prefix) {
                let before = rest[..i].chars().last();
                rest = &rest[i + prefix.len()..];
                // `$crate::` or an identifier ending in "crate" is not ours.
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    continue;
                }
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    used.insert(name);
                } else if rest.starts_with('{') {
                    // `use crate::{a, b::c}`: every first segment in the braces.
                    let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
                    for part in inner.split(',') {
                        let name: String = part
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() {
                            used.insert(name);
                        }
                    }
                }
            }
        }
    }
    used
}

/// module → the other top-level modules it uses.
fn import_map() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        let text = std::fs::read_to_string(&file).unwrap();
        let entry = map.entry(module.clone()).or_default();
        for used in used_modules(&text) {
            // `crate::Result` and friends (lib.rs re-exports) are not modules.
            if used != module && used.chars().next().is_some_and(|c| c.is_lowercase()) {
                entry.insert(used);
            }
        }
    }
    map
}

#[test]
fn every_module_has_a_layer() {
    let map = import_map();
    let unknown: Vec<_> = map
        .keys()
        .filter(|m| *m != "lib" && layer_of(m).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "top-level modules with no layer (add them to LAYERS in tests/layers.rs): {unknown:?}"
    );
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let map = import_map();
    let mut upward = Vec::new();
    for (module, used) in &map {
        let Some(own) = layer_of(module) else {
            continue;
        };
        for u in used {
            if let Some(theirs) = layer_of(u) {
                if theirs < own {
                    upward.push(format!(
                        "{module} ({}) uses {u} ({})",
                        LAYERS[own].0, LAYERS[theirs].0
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports up across layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_protocol_is_a_leaf() {
    let map = import_map();
    let data = LAYERS.len() - 1;
    for leaf in LEAVES {
        let bad: Vec<_> = map[*leaf]
            .iter()
            .filter(|u| layer_of(u).is_some_and(|l| l < data))
            .collect();
        assert!(
            bad.is_empty(),
            "{leaf} must use only the data layer, uses {bad:?}"
        );
    }
}

#[test]
fn no_circle_between_top_level_modules() {
    let map = import_map();
    // Depth-first search for a path that comes back to where it started.
    fn reaches(
        map: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        target: &str,
        seen: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> bool {
        for next in map.get(from).into_iter().flatten() {
            if next == target {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if reaches(map, next, target, seen, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    for module in map.keys() {
        let mut path = vec![module.clone()];
        if reaches(&map, module, module, &mut BTreeSet::new(), &mut path) {
            panic!("import circle: {} -> {module}", path.join(" -> "));
        }
    }
}

#[test]
fn the_scanner_sees_use_lines_braces_and_inline_paths() {
    let text = "use crate::{config::RunConfig, data};\nlet x = crate::model::probs::argmax(&v); // crate::tui\nuse tunebench::train;\n$crate::nothing";
    let used: Vec<_> = used_modules(text).into_iter().collect();
    assert_eq!(used, ["config", "data", "model", "train"]);
}
