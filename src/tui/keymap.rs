//! The TUI's key table (assets/keys.toml, embedded): it turns a key into a
//! [`Cmd`] for the scope the key arrives in, and the help overlay, the hint
//! line and the man page's TUI KEYS section are drawn from the same table,
//! so what a key does and what the screen says it does cannot drift apart.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use std::sync::OnceLock;

/// Where a key arrives: the whole app, a pane, or a mode inside one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Global,
    Help,
    ConfirmQuit,
    Runs,
    Sweep,
    Dataset,
    Relabel,
    Hyper,
    /// The search space's rows, opened from the form's `search` key.
    SearchForm,
    Curves,
    Playground,
    /// The labelling workbench (`tunebench label`).
    Label,
    /// Typing a line (search, a field's value, a sentence).
    Input,
}

impl Scope {
    /// The prefix of this scope's lines in the help overlay.
    fn title(self) -> &'static str {
        match self {
            Scope::Global | Scope::Help | Scope::ConfirmQuit => "",
            Scope::Runs => "Runs",
            Scope::Sweep => "Sweep",
            Scope::Dataset | Scope::Relabel => "Dataset",
            Scope::Hyper => "Hyper",
            Scope::SearchForm => "Search",
            Scope::Curves => "Curves",
            Scope::Playground => "Playground",
            Scope::Label => "Label",
            Scope::Input => "Typing",
        }
    }
}

/// What a key asks for. The same name may mean the same gesture in several
/// scopes (`down` moves the selection wherever there is one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmd {
    // global
    Focus,
    NextPane,
    PrevPane,
    Start,
    Pause,
    Stop,
    Checkpoint,
    Quit,
    Interrupt,
    Runs,
    Sweep,
    Help,
    // the quit dialog
    Leave,
    StopAndQuit,
    // moving in a list
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    // runs view
    Mark,
    Open,
    Compare,
    NewFrom,
    Refresh,
    Close,
    // sweep view
    NextParam,
    // dataset
    Search,
    NextMatch,
    PrevMatch,
    NextLabel,
    PrevLabel,
    LabelCount,
    Sort,
    Split,
    Misclassified,
    Clear,
    Suspects,
    Accept,
    Relabel,
    Keep,
    Undo,
    PickLabel,
    /// Type a label's name (sets with more labels than keys).
    NameLabel,
    Skip,
    Unsure,
    Drop,
    // hyperparameters
    Edit,
    Fold,
    PrevGroup,
    NextGroup,
    Reset,
    AddToSearch,
    // the search space's rows
    AddRow,
    RemoveRow,
    CycleKind,
    Preset,
    SaveConfig,
    SaveCommand,
    LoadConfig,
    // curves
    LogScale,
    SmoothingUp,
    SmoothingDown,
    Markers,
    Zoom,
    // playground
    Type,
    Rescore,
    Explain,
    ExplainNext,
    // typing
    Submit,
    Cancel,
    HistoryPrev,
    HistoryNext,
    Left,
    Right,
    LineStart,
    LineEnd,
    Backspace,
    Delete,
    KillToStart,
}

/// One key as the table writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chord {
    /// The characters it covers ('1'..='9' for "1-9"), or a named key.
    key: ChordKey,
    ctrl: bool,
    /// As the help and hint line show it.
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ChordKey {
    Chars(char, char),
    Code(KeyCode),
}

impl Chord {
    pub fn parse(spec: &str) -> Result<Chord, String> {
        let (ctrl, name) = match spec.strip_prefix("Ctrl-") {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, spec),
        };
        let chars: Vec<char> = name.chars().collect();
        let (key, label) = match (chars.as_slice(), name) {
            // A terminal reports Ctrl-C as Ctrl + 'c'.
            ([c], _) if ctrl => {
                let c = c.to_ascii_lowercase();
                (ChordKey::Chars(c, c), spec.to_string())
            }
            ([c], _) => (ChordKey::Chars(*c, *c), spec.to_string()),
            ([a, '-', b], _) if a < b => (ChordKey::Chars(*a, *b), spec.to_string()),
            (_, "Space") => (ChordKey::Chars(' ', ' '), "Space".into()),
            (_, named) => {
                let (code, label) = match named {
                    "Enter" => (KeyCode::Enter, "Enter"),
                    "Esc" => (KeyCode::Esc, "Esc"),
                    "Tab" => (KeyCode::Tab, "Tab"),
                    "Shift-Tab" => (KeyCode::BackTab, "Shift-Tab"),
                    "Up" => (KeyCode::Up, "↑"),
                    "Down" => (KeyCode::Down, "↓"),
                    "Left" => (KeyCode::Left, "←"),
                    "Right" => (KeyCode::Right, "→"),
                    "PgUp" => (KeyCode::PageUp, "PgUp"),
                    "PgDn" => (KeyCode::PageDown, "PgDn"),
                    "Home" => (KeyCode::Home, "Home"),
                    "End" => (KeyCode::End, "End"),
                    "Backspace" => (KeyCode::Backspace, "Backspace"),
                    "Delete" => (KeyCode::Delete, "Delete"),
                    other => return Err(format!("unknown key '{other}'")),
                };
                (ChordKey::Code(code), label.to_string())
            }
        };
        Ok(Chord { key, ctrl, label })
    }

    /// Whether `key` is this chord. Shift is part of the character ('G'),
    /// so only Ctrl has to agree.
    pub fn matches(&self, key: &KeyEvent) -> bool {
        if key.modifiers.contains(KeyModifiers::CONTROL) != self.ctrl {
            return false;
        }
        match (&self.key, key.code) {
            (ChordKey::Chars(lo, hi), KeyCode::Char(c)) => (*lo..=*hi).contains(&c),
            (ChordKey::Code(code), pressed) => *code == pressed,
            _ => false,
        }
    }
}

/// A command and the keys that run it.
#[derive(Clone, Debug)]
pub struct Binding {
    pub scope: Scope,
    pub cmd: Cmd,
    pub chords: Vec<Chord>,
}

/// One line of the help overlay.
#[derive(Clone, Debug)]
pub struct KeyHelp {
    pub keys: String,
    pub does: String,
}

/// The hint line's (key, what) pairs for each pane and while typing.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    pub typing: Vec<(String, String)>,
    /// Typing a sentence in the playground (a pair's separator too).
    pub playground_typing: Vec<(String, String)>,
    pub dataset: Vec<(String, String)>,
    pub hyper: Vec<(String, String)>,
    pub search_form: Vec<(String, String)>,
    pub curves: Vec<(String, String)>,
    pub playground: Vec<(String, String)>,
}

impl Hints {
    /// The hints of a scope (a pane's, or typing's).
    pub fn of(&self, scope: Scope) -> &[(String, String)] {
        match scope {
            Scope::Input => &self.typing,
            Scope::Dataset | Scope::Relabel => &self.dataset,
            Scope::Hyper => &self.hyper,
            Scope::SearchForm => &self.search_form,
            Scope::Curves => &self.curves,
            Scope::Playground => &self.playground,
            _ => &[],
        }
    }
}

#[derive(Debug)]
pub struct KeyMap {
    pub bindings: Vec<Binding>,
    pub help: Vec<KeyHelp>,
    pub hints: Hints,
}

#[derive(Deserialize)]
struct FileGroup {
    scope: Scope,
    #[serde(default)]
    help: Option<String>,
    bind: Vec<Vec<String>>,
}

#[derive(Deserialize)]
struct FileHints {
    input: Vec<(String, String)>,
    playground_input: Vec<(String, String)>,
    dataset: Vec<(String, String)>,
    hyper: Vec<(String, String)>,
    search_form: Vec<(String, String)>,
    curves: Vec<(String, String)>,
    playground: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct KeysFile {
    keys: Vec<FileGroup>,
    hints: FileHints,
}

const KEYS_TOML: &str = include_str!("../../assets/keys.toml");

impl KeyMap {
    /// Read a key table; every error names the binding at fault.
    pub fn parse(text: &str) -> Result<KeyMap, String> {
        let file: KeysFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut bindings = Vec::new();
        let mut help = Vec::new();
        for group in &file.keys {
            let mut firsts = Vec::new();
            for bind in &group.bind {
                let (name, keys) = bind
                    .split_first()
                    .filter(|(_, keys)| !keys.is_empty())
                    .ok_or_else(|| format!("{:?}: a binding is [command, key, ...]", bind))?;
                let cmd: Cmd = serde_json::from_value(serde_json::Value::String(name.clone()))
                    .map_err(|_| format!("unknown command '{name}'"))?;
                let chords = keys
                    .iter()
                    .map(|k| Chord::parse(k))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{name}: {e}"))?;
                firsts.push(chords[0].label.clone());
                bindings.push(Binding {
                    scope: group.scope,
                    cmd,
                    chords,
                });
            }
            if let Some(does) = &group.help {
                let title = group.scope.title();
                let keys = firsts.join(" ");
                help.push(KeyHelp {
                    keys: if title.is_empty() {
                        keys
                    } else {
                        format!("{title} {keys}")
                    },
                    does: does.clone(),
                });
            }
        }
        let mut map = KeyMap {
            bindings,
            help,
            hints: Hints::default(),
        };
        let h = &file.hints;
        map.hints = Hints {
            typing: map.hint_keys(Scope::Input, &h.input)?,
            playground_typing: map.hint_keys(Scope::Input, &h.playground_input)?,
            dataset: map.hint_keys(Scope::Dataset, &h.dataset)?,
            hyper: map.hint_keys(Scope::Hyper, &h.hyper)?,
            search_form: map.hint_keys(Scope::SearchForm, &h.search_form)?,
            curves: map.hint_keys(Scope::Curves, &h.curves)?,
            playground: map.hint_keys(Scope::Playground, &h.playground)?,
        };
        Ok(map)
    }

    /// The command `key` runs in `scope` (its own bindings only).
    pub fn command(&self, scope: Scope, key: &KeyEvent) -> Option<Cmd> {
        self.bindings
            .iter()
            .find(|b| b.scope == scope && b.chords.iter().any(|c| c.matches(key)))
            .map(|b| b.cmd)
    }

    fn binding(&self, scope: Scope, name: &str) -> Result<&Binding, String> {
        let cmd: Cmd = serde_json::from_value(serde_json::Value::String(name.into()))
            .map_err(|_| format!("hints: unknown command '{name}'"))?;
        [scope, Scope::Global]
            .iter()
            .find_map(|s| self.bindings.iter().find(|b| b.scope == *s && b.cmd == cmd))
            .ok_or_else(|| format!("hints: '{name}' has no key in {scope:?} or global"))
    }

    /// "down up" → "j/k": the first keys of the named commands ("key:X"
    /// shows X, for what is typed rather than pressed).
    fn hint_keys(
        &self,
        scope: Scope,
        hints: &[(String, String)],
    ) -> Result<Vec<(String, String)>, String> {
        hints
            .iter()
            .map(|(cmds, what)| {
                if let Some(text) = cmds.strip_prefix("key:") {
                    return Ok((text.to_string(), what.clone()));
                }
                let keys = cmds
                    .split_whitespace()
                    .map(|name| Ok(self.binding(scope, name)?.chords[0].label.clone()))
                    .collect::<Result<Vec<_>, String>>()?;
                Ok((keys.join("/"), what.clone()))
            })
            .collect()
    }
}

/// The embedded key map (parsed once; the tests parse it too, so a broken
/// file never ships).
pub fn keymap() -> &'static KeyMap {
    static MAP: OnceLock<KeyMap> = OnceLock::new();
    MAP.get_or_init(|| KeyMap::parse(KEYS_TOML).expect("assets/keys.toml is valid (tested)"))
}

/// The command `key` runs in `scope`, from the embedded table.
pub fn command(scope: Scope, key: &KeyEvent) -> Option<Cmd> {
    keymap().command(scope, key)
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

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn the_embedded_key_map_parses_and_covers_every_pane() {
        let map = keymap();
        assert!(map.help.len() >= 10);
        for scope in [
            Scope::Input,
            Scope::Dataset,
            Scope::Hyper,
            Scope::SearchForm,
            Scope::Curves,
            Scope::Playground,
        ] {
            assert!(!map.hints.of(scope).is_empty(), "{scope:?}");
        }
        // Every pane's hints say how to get help and (outside typing) quit.
        for scope in [Scope::Dataset, Scope::Curves, Scope::Playground] {
            let hints = map.hints.of(scope);
            assert!(hints.iter().any(|(k, _)| k == "?"));
            assert!(hints.iter().any(|(k, _)| k == "q"));
        }
        assert!(map.hints.dataset.contains(&("j/k".into(), "move".into())));
        // The help's key column (32 wide, 2 of them a gap) shows every
        // entry's keys whole.
        for k in &map.help {
            assert!(crate::data::display_width(&k.keys) <= 30, "{:?}", k.keys);
        }
        let man = man_section();
        assert!(man.starts_with(".SH \"TUI KEYS\"\n.TP\n"));
        assert!(man.contains("\\fBq Ctrl\\-C\\fR"), "{man}");
    }

    #[test]
    fn keys_dispatch_by_scope() {
        let map = keymap();
        assert_eq!(map.command(Scope::Dataset, &press('j')), Some(Cmd::Down));
        let down = KeyEvent::new(KeyCode::Down, KeyModifiers::NONE);
        assert_eq!(map.command(Scope::Hyper, &down), Some(Cmd::Down));
        assert_eq!(map.command(Scope::Global, &press('3')), Some(Cmd::Focus));
        assert_eq!(map.command(Scope::Global, &press('5')), None);
        assert_eq!(map.command(Scope::Curves, &press('j')), None);
        // Shift makes the character; Ctrl must agree.
        let shift_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.command(Scope::Dataset, &shift_g), Some(Cmd::Bottom));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.command(Scope::Global, &ctrl_c), Some(Cmd::Interrupt));
        assert_eq!(
            map.command(Scope::Global, &press('c')),
            Some(Cmd::Checkpoint)
        );
    }

    #[test]
    fn a_bad_table_names_what_is_wrong() {
        let base = "[hints]\ninput=[]\nplayground_input=[]\ndataset=[]\nhyper=[]\nsearch_form=[]\ncurves=[]\nplayground=[]\n";
        let bad_cmd = format!("[[keys]]\nscope=\"global\"\nbind=[[\"fly\",\"f\"]]\n{base}");
        assert!(KeyMap::parse(&bad_cmd)
            .unwrap_err()
            .contains("unknown command 'fly'"));
        let bad_key = format!("[[keys]]\nscope=\"global\"\nbind=[[\"quit\",\"Hyper\"]]\n{base}");
        assert!(KeyMap::parse(&bad_key)
            .unwrap_err()
            .contains("unknown key 'Hyper'"));
        let no_key = "[[keys]]\nscope=\"global\"\nbind=[[\"quit\",\"q\"]]\n[hints]\ninput=[[\"stop\",\"stop\"]]\nplayground_input=[]\ndataset=[]\nhyper=[]\nsearch_form=[]\ncurves=[]\nplayground=[]\n";
        assert!(KeyMap::parse(no_key)
            .unwrap_err()
            .contains("'stop' has no key"));
    }
}
