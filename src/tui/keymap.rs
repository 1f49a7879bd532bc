//! The TUI's key documentation as data (assets/keys.toml, embedded): the
//! help overlay, the hint line and the man page's TUI KEYS section read it.

use serde::Deserialize;
use std::sync::OnceLock;

/// One line of the help overlay.
#[derive(Debug, Deserialize)]
pub struct KeyHelp {
    pub keys: String,
    pub does: String,
}

/// The hint line's (key, what) pairs for each pane and while typing.
#[derive(Debug, Deserialize)]
pub struct Hints {
    pub typing: Vec<(String, String)>,
    pub dataset: Vec<(String, String)>,
    pub hyper: Vec<(String, String)>,
    pub curves: Vec<(String, String)>,
    pub playground: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
pub struct KeyMap {
    pub help: Vec<KeyHelp>,
    pub hints: Hints,
}

const KEYS_TOML: &str = include_str!("../../assets/keys.toml");

/// The embedded key map (parsed once; the tests parse it too, so a broken
/// file never ships).
pub fn keymap() -> &'static KeyMap {
    static MAP: OnceLock<KeyMap> = OnceLock::new();
    MAP.get_or_init(|| toml::from_str(KEYS_TOML).expect("assets/keys.toml is valid (tested)"))
}

/// The TUI KEYS section of the man page, in roff.
pub fn man_section() -> String {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('-', "\\-");
    let mut out = String::from(".SH \"TUI KEYS\"\n");
    for k in &keymap().help {
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            escape(&k.keys),
            escape(&k.does)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_key_map_parses_and_covers_every_pane() {
        let map = keymap();
        assert!(map.help.len() >= 10);
        for hints in [
            &map.hints.typing,
            &map.hints.dataset,
            &map.hints.hyper,
            &map.hints.curves,
            &map.hints.playground,
        ] {
            assert!(!hints.is_empty());
        }
        // Every pane's hints say how to get help and (outside typing) quit.
        for hints in [&map.hints.dataset, &map.hints.curves, &map.hints.playground] {
            assert!(hints.iter().any(|(k, _)| k == "?"));
            assert!(hints.iter().any(|(k, _)| k == "q"));
        }
        let man = man_section();
        assert!(man.starts_with(".SH \"TUI KEYS\"\n.TP\n"));
        assert!(man.contains("\\fBq, Ctrl\\-C\\fR"));
    }
}
