//! The key reference is one text: the keys' doc comments. The README's
//! table, `train --help` and the man page print it, and the form's help
//! line shows it (tests/tui_render.rs).

mod common;

use common::root;

const BEGIN: &str = "<!-- keys:begin";
const END: &str = "<!-- keys:end -->";

#[test]
fn the_readme_key_table_is_the_keys_doc_comments() {
    let path = root().join("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(BEGIN).expect("README has the keys:begin marker");
    let start = start + text[start..].find("-->").unwrap() + 3;
    let end = text.find(END).expect("README has the keys:end marker");
    let want = format!("\n{}\n", tunebench::config::keys_markdown().trim());
    if std::env::var_os("TUNEBENCH_WRITE_README").is_some() {
        let new = format!("{}{want}{}", &text[..start], &text[end..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert_eq!(
        &text[start..end],
        want,
        "the README's key table differs from the keys' docs: rerun with TUNEBENCH_WRITE_README=1"
    );
}

#[test]
fn train_help_and_the_man_page_print_every_key_with_its_help() {
    let help = common::cli::succeed(common::cli::tunebench().args(["train", "--help"]));
    let man = common::cli::succeed(common::cli::tunebench().arg("man"));
    for d in tunebench::config::KEY_DOCS {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", d.key)))
            .unwrap_or_else(|| panic!("{} in train --help", d.key));
        assert!(line.contains(&d.help()), "{line}");
        assert!(
            man.contains(&format!("\\fB{}\\fR", d.key.replace('-', "\\-"))),
            "{}",
            d.key
        );
    }
    assert!(help.contains("Schedule & regularization:"));
    assert!(man.contains(".SH KEYS"));
}

#[test]
fn the_cli_says_when_a_setting_has_no_effect_as_the_form_hides_it() {
    let runs = tempfile::tempdir().unwrap();
    let (train, _) = common::reviews();
    let (ok, stdout, stderr) = common::cli::run(
        common::cli::tunebench()
            .env("TUNEBENCH_RUNS_DIR", runs.path())
            .arg("train")
            .arg("--data")
            .arg(&train)
            .args(["--set", "adalora_init_r=8", "--set", "lr=1e-4", "--dry-run"]),
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("note: adalora_init_r = 8 has no effect (peft = none)"),
        "{stderr}"
    );
    // --dry-run lists what differs from the defaults (the form's marks).
    assert!(stdout.contains("lr = 0.0001  # default: unset"), "{stdout}");
    assert!(
        stdout.contains("adalora_init_r = 8  # default: 12"),
        "{stdout}"
    );
    assert!(
        std::fs::read_dir(runs.path()).unwrap().next().is_none(),
        "a dry run makes no run directory"
    );
}
