//! How a config key is declared: its group in the form, its help text and
//! default sit beside its field (`run_config!` in `mod.rs`), and the form,
//! `train --help`, the man page and the README's key table all read them
//! from `KEY_DOCS`.

/// The form's groups, in the order it shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Data,
    Model,
    Training,
    Schedule,
    Peft,
    Task,
    Device,
    Output,
    Search,
}

impl Group {
    pub const ALL: [Group; 9] = [
        Group::Data,
        Group::Model,
        Group::Training,
        Group::Schedule,
        Group::Peft,
        Group::Task,
        Group::Device,
        Group::Output,
        Group::Search,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Data => "Data",
            Group::Model => "Model",
            Group::Training => "Training",
            Group::Schedule => "Schedule & regularization",
            Group::Peft => "Parameter-efficient",
            Group::Task => "Task",
            Group::Device => "Precision & device",
            Group::Output => "Output & tracking",
            Group::Search => "Search",
        }
    }
}

/// One key as declared: its name, group and help (the field's doc comment).
#[derive(Clone, Copy, Debug)]
pub struct KeyDoc {
    pub key: &'static str,
    pub group: Group,
    /// The doc comment's lines, as written (see `help`).
    doc: &'static str,
}

impl KeyDoc {
    pub const fn new(key: &'static str, group: Group, doc: &'static str) -> KeyDoc {
        KeyDoc { key, group, doc }
    }

    /// The help text on one line.
    pub fn help(&self) -> String {
        self.doc.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Declares `RunConfig`: each field with its doc comment (the key's help),
/// its group, its type and its default, once.
macro_rules! run_config {
    ($(
        $(#[doc = $doc:literal])*
        [$group:ident] $(#[$attr:meta])* $name:ident : $ty:ty = $default:expr
    ),* $(,)?) => {
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct RunConfig {
            $(
                $(#[doc = $doc])*
                $(#[$attr])*
                pub $name: $ty,
            )*
        }

        impl Default for RunConfig {
            fn default() -> Self {
                RunConfig { $($name: $default,)* }
            }
        }

        /// Every key's group and help, in declaration order.
        pub const KEY_DOCS: &[KeyDoc] = &[
            $(KeyDoc::new(stringify!($name), Group::$group, concat!($($doc, "\n"),*)),)*
        ];
    };
}

/// A key's default as the references print it.
fn default_text(key: &str) -> String {
    match super::RunConfig::default().value_text(key) {
        v if v.is_empty() => "unset".to_string(),
        v => v,
    }
}

/// The keys by group, for `train --help` (after the flags).
pub fn keys_help_text() -> String {
    let mut out = String::from("Keys (in a --config file, or --set KEY=VALUE):\n");
    for group in Group::ALL {
        out.push_str(&format!("\n{}:\n", group.title()));
        for d in super::KEY_DOCS.iter().filter(|d| d.group == group) {
            out.push_str(&format!(
                "  {:<18} {} [default: {}]\n",
                d.key,
                d.help(),
                default_text(d.key)
            ));
        }
    }
    out
}

/// The README's key table, one per group (a test keeps the README's copy
/// equal to this).
pub fn keys_markdown() -> String {
    let mut out = String::new();
    for group in Group::ALL {
        out.push_str(&format!(
            "\n**{}**\n\n| key | default | meaning |\n| --- | --- | --- |\n",
            group.title()
        ));
        for d in super::KEY_DOCS.iter().filter(|d| d.group == group) {
            out.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                d.key,
                default_text(d.key).replace('|', "\\|"),
                d.help().replace('|', "\\|")
            ));
        }
    }
    out
}

/// The man page's KEYS section (roff).
pub fn keys_man_section() -> String {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('-', "\\-");
    let mut out = String::from(
        ".SH KEYS\nSet in a \\fB\\-\\-config\\fR file or with \\fB\\-\\-set KEY=VALUE\\fR.\n",
    );
    for group in Group::ALL {
        out.push_str(&format!(".SS \"{}\"\n", escape(group.title())));
        for d in super::KEY_DOCS.iter().filter(|d| d.group == group) {
            out.push_str(&format!(
                ".TP\n\\fB{}\\fR (default: {})\n{}\n",
                escape(d.key),
                escape(&default_text(d.key)),
                escape(&d.help())
            ));
        }
    }
    out
}
