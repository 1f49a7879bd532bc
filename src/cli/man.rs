//! `tunebench man`: the roff pages, from the clap definitions and the TUI's
//! key table.

use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;

/// Print `tunebench.1` (options, subcommands, TUI keys), or with `dir`
/// write it there with one page per subcommand, which the main page's
/// SUBCOMMANDS section names (`man tunebench-train`).
pub fn man_pages(dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut cmd = super::cli_command().disable_help_subcommand(true);
    // build() gives subcommands their page names (tunebench-train).
    cmd.build();
    let mut main_page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut main_page)?;
    main_page.extend_from_slice(tunebench::config::keys_man_section().as_bytes());
    main_page.extend_from_slice(tunebench::tui::keymap::man_section().as_bytes());
    let Some(dir) = dir else {
        std::io::Write::write_all(&mut std::io::stdout(), &main_page)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, page: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))
    };
    write("tunebench.1", &main_page)?;
    let mut written = 1;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = clap_mangen::Man::new(sub.clone());
        let mut page = Vec::new();
        man.render(&mut page)?;
        write(&man.get_filename(), &page)?;
        written += 1;
    }
    println!("wrote {written} pages to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
