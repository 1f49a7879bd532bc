//! The command line: `tunebench [tui]|train|eval|predict|inspect|bench...`.
//! Front-end code only: it parses flags (`args`), calls the library and
//! prints; one file a command.

mod args;
mod attach;
mod bench;
mod doctor;
mod eval;
mod export;
mod inspect;
mod label;
mod logging;
mod man;
mod predict;
mod rm;
mod runs;
mod sample;
mod serve;
mod sweep;
mod train;
mod tui;

pub(crate) use args::{
    cli_command, ComputeFlags, DataFlags, EvalFormat, ModelRef, PredictFormat, SourceFlags,
};
use args::{Cli, Cmd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tunebench::config::RunConfig;
use tunebench::data::LoadOptions;

pub fn main() -> ExitCode {
    use clap::FromArgMatches;
    let cli = match Cli::from_arg_matches(&cli_command().get_matches()) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let bad_input = e.chain().any(|c| {
                c.downcast_ref::<tunebench::Error>()
                    .is_some_and(|e| e.is_bad_input())
                    || c.downcast_ref::<tunebench::data::DataError>().is_some()
                    || c.downcast_ref::<tunebench::config::ConfigError>().is_some()
                    || c.downcast_ref::<tunebench::remote::LaunchError>()
                        .is_some_and(|e| e.bad_input)
            });
            eprintln!("error: {}", error_text(&e));
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

/// The error and its causes joined by ": ", each said once: our errors
/// already print their I/O cause ("x.csv: cannot read: No such file"), which
/// anyhow's `{:#}` repeated as the next link of the chain.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli
        .command
        .unwrap_or_else(|| Cmd::Tui(tui::TuiArgs::default()))
    {
        Cmd::Tui(args) => tui::tui_cmd(args),
        Cmd::Train(args) => train::train_cmd(args),
        Cmd::Sweep(args) => sweep::sweep_cmd(args),
        Cmd::Attach {
            run_dir,
            plain,
            runs_dir,
            plain_markers,
        } => attach::attach_cmd(run_dir, plain, &runs_dir, plain_markers),
        Cmd::Runs {
            runs_dir,
            json,
            all,
            wide,
        } => runs::runs_cmd(&runs_dir, json, all, wide),
        Cmd::Rm {
            runs,
            failed,
            older_than,
            dry_run,
            runs_dir,
        } => rm::rm_cmd(&runs, failed, older_than, dry_run, &runs_dir),
        Cmd::Stop { run_dir, no_save } => runs::send_cmd(
            &run_dir_of(&run_dir)?,
            tunebench::protocol::Command::Stop { save: !no_save },
        ),
        Cmd::Pause { run_dir } => {
            runs::send_cmd(&run_dir_of(&run_dir)?, tunebench::protocol::Command::Pause)
        }
        Cmd::Resume { run_dir } => {
            runs::send_cmd(&run_dir_of(&run_dir)?, tunebench::protocol::Command::Resume)
        }
        Cmd::RunEngine { run_dir } => {
            logging::to_file(&run_dir.join("train.log"));
            let code = tunebench::remote::process::run_engine(&run_dir);
            Ok(ExitCode::from(code as u8))
        }
        Cmd::Eval {
            model,
            base,
            data,
            format,
            predictions,
            strict,
            compute,
            data_flags,
        } => eval::eval_cmd(
            &checkpoint_dir(model.spec())?,
            base.as_deref(),
            &data,
            format,
            predictions.as_deref(),
            strict,
            &compute,
            &data_flags,
        ),
        Cmd::Export {
            model,
            merge,
            base,
            out,
        } => export::export_cmd(&checkpoint_dir(model.spec())?, merge, base.as_deref(), &out),
        Cmd::Serve(args) => serve::serve_cmd(args),
        Cmd::BenchServe(args) => serve::bench_serve_cmd(args),
        Cmd::BenchExplain(args) => bench::bench_explain_cmd(args),
        Cmd::Predict {
            checkpoint,
            base,
            mut texts,
            input,
            output,
            compute,
            input_flags,
        } => predict::predict_cmd(
            &checkpoint_dir(&match checkpoint {
                Some(c) => c,
                None if !texts.is_empty() => PathBuf::from(texts.remove(0)),
                None => anyhow::bail!(
                    "name the model: `tunebench predict MODEL \"text\"` (a checkpoint, run directory or run name)"
                ),
            })?,
            base.as_deref(),
            texts,
            input.as_deref(),
            &output,
            &compute,
            &input_flags.as_data_flags(),
        ),
        Cmd::Bench(args) => bench::bench_suite_cmd(args),
        Cmd::Doctor { runs_dir } => doctor::doctor_cmd(&runs_dir),
        Cmd::Completions { shell } => {
            let mut cmd = cli_command();
            clap_complete::generate(shell, &mut cmd, "tunebench", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Man { dir } => man::man_pages(dir.as_deref()),
        Cmd::Inspect(args) => inspect::inspect_args_cmd(args),
        Cmd::Label(args) => label::label_cmd(*args),
    }
}

pub(crate) fn apply_data_flags(cfg: &mut RunConfig, f: &DataFlags) {
    let input = &f.input;
    if input.text_col.is_some() {
        cfg.text_col = input.text_col.clone();
    }
    if f.label_col.is_some() {
        cfg.label_col = f.label_col.clone();
    }
    if f.label_cols.is_some() {
        cfg.label_cols = f.label_cols.clone();
    }
    if f.label_sep.is_some() {
        cfg.label_sep = f.label_sep.clone();
    }
    if f.task.is_some() {
        cfg.task = f.task;
    }
    if f.label_names.is_some() {
        cfg.label_names = f.label_names.clone();
    }
    cfg.lossy_utf8 |= input.lossy_utf8;
    cfg.skip_empty |= input.skip_empty;
    cfg.no_header |= input.no_header;
    if input.split.is_some() {
        cfg.hf_split = input.split.clone();
    }
    if f.tag_col.is_some() {
        cfg.tag_col = f.tag_col;
    }
    if f.tag_scheme.is_some() {
        cfg.tag_scheme = f.tag_scheme;
    }
    cfg.lenient_tags |= f.lenient_tags;
    if let Some(n) = f.max_rows {
        cfg.max_rows = n;
    }
}

/// `--max-rows N` on a loaded data set (eval, inspect): N rows, seeded,
/// stratified by label; said on stderr.
pub(crate) fn keep_max_rows(ds: &mut tunebench::data::Dataset, f: &DataFlags) {
    let Some(n) = f.max_rows.filter(|&n| n > 0 && n < ds.rows.len()) else {
        return;
    };
    eprintln!(
        "note: --max-rows: {n} of {} rows (stratified by label, seed {MAX_ROWS_SEED})",
        ds.rows.len()
    );
    let rows = std::mem::take(&mut ds.rows);
    ds.rows = tunebench::data::split::stratified_sample(rows, n, MAX_ROWS_SEED);
}

/// The seed of `--max-rows` outside a run (a run uses its own seed).
const MAX_ROWS_SEED: u64 = 42;

pub(crate) use tunebench::data::fit_width;

/// A `--config` file, its notes on transformers' key names said on stderr.
pub(crate) fn config_file(path: &Path) -> anyhow::Result<RunConfig> {
    let (cfg, notes) = RunConfig::from_toml_file_noted(path)?;
    for n in notes {
        eprintln!("{}: {n}", path.display());
    }
    Ok(cfg)
}

/// One note on stderr for each `--set` that used a transformers name.
pub(crate) fn note_aliases(assignments: &[String]) {
    for a in assignments {
        let key = a.split('=').next().unwrap_or("").trim();
        if let Some(note) = tunebench::config::alias_note(key) {
            eprintln!("{note}");
        }
    }
}

pub(crate) fn load_opts(f: &DataFlags, require_label: bool) -> LoadOptions {
    // The flags as a config's data keys, read as a run reads them.
    let mut cfg = RunConfig::default();
    apply_data_flags(&mut cfg, f);
    LoadOptions {
        require_label,
        ..cfg.load_options()
    }
}

/// A new run directory under the runs dir, named by time and model and
/// created here, so two runs started in the same second (a script, a
/// test suite) get `NAME` and `NAME-2` rather than one directory.
pub(crate) fn default_run_dir(model: &str) -> PathBuf {
    let base = tunebench::run_dir::default_runs_dir().join(tunebench::run_dir::run_name(model));
    let _ = std::fs::create_dir_all(base.parent().unwrap_or(Path::new(".")));
    for n in 1..1000 {
        let dir = if n == 1 {
            base.clone()
        } else {
            PathBuf::from(format!("{}-{n}", base.display()))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            // Unwritable: the run reports it when it creates the directory.
            Err(_) => return dir,
        }
    }
    base
}

/// A `--checkpoint` as the user named it (a directory, a run, a name, a
/// suffix), resolved; what it resolved to goes to stderr.
pub(crate) fn checkpoint_dir(spec: &std::path::Path) -> anyhow::Result<PathBuf> {
    let r = tunebench::runs::reference::resolve_model(
        &spec.to_string_lossy(),
        &tunebench::run_dir::default_runs_dir(),
    )?;
    if let Some(note) = &r.note {
        eprintln!("{note}");
    }
    Ok(r.dir)
}

/// A run as the user named it: its directory, or its name in the runs
/// directory.
pub(crate) fn run_dir_of(spec: &std::path::Path) -> anyhow::Result<PathBuf> {
    Ok(tunebench::runs::reference::resolve_run(
        &spec.to_string_lossy(),
        &tunebench::run_dir::default_runs_dir(),
    )?)
}
