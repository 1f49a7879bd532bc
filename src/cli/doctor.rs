//! `tunebench doctor`: is this setup usable, and what would make it
//! better? One screen of checks; exit 1 with the first fix when something
//! blocks use.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

/// One line of the report.
struct Check {
    ok: bool,
    /// A problem that stops tunebench from working (else only advice).
    blocking: bool,
    what: &'static str,
    detail: String,
    fix: Option<String>,
}

fn check(what: &'static str, ok: bool, detail: String) -> Check {
    Check {
        ok,
        blocking: false,
        what,
        detail,
        fix: None,
    }
}

fn terminal() -> Check {
    if !std::io::stdout().is_terminal() {
        return check(
            "terminal",
            true,
            "stdout is not a terminal (the TUI needs one; train/eval/predict print plain lines)"
                .into(),
        );
    }
    match crossterm::terminal::size() {
        Ok((w, h)) if w >= 80 && h >= 24 => check("terminal", true, format!("{w}×{h}")),
        Ok((w, h)) => Check {
            fix: Some("enlarge the window to at least 80×24".into()),
            ..check("terminal", false, format!("{w}×{h}, smaller than 80×24"))
        },
        Err(e) => check("terminal", false, format!("size unknown: {e}")),
    }
}

fn colour() -> Check {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let term = std::env::var("TERM").unwrap_or_default();
    let truecolor =
        std::env::var("COLORTERM").is_ok_and(|v| v.contains("truecolor") || v == "24bit");
    let detail = if no_color {
        "NO_COLOR is set: no colours; marks and signs carry the meaning".to_string()
    } else {
        format!(
            "TERM={}{}; charts use braille dots: if they show as boxes, pass --plain-markers",
            if term.is_empty() { "(unset)" } else { &term },
            if truecolor { ", 24-bit colour" } else { "" }
        )
    };
    check("colour", true, detail)
}

fn cpu() -> Check {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    check(
        "cpu",
        true,
        format!(
            "{}, {threads} threads; kernels use {}{}",
            tunebench::build_info::cpu_model().unwrap_or_else(|| "unknown model".into()),
            tunebench::build_info::cpu_path(),
            tunebench::build_info::low_precision_note(
                &tunebench::build_info::low_precision_instructions(),
                &tunebench::model::quant::kernel_report()
            )
        ),
    )
}

fn cuda() -> Check {
    if !cfg!(feature = "cuda") {
        return check(
            "cuda",
            true,
            "not built with CUDA: CPU only (cargo build --release --features cuda on a GPU machine)"
                .into(),
        );
    }
    match tunebench::device::open("cuda", 0) {
        Ok(d) => check("cuda", true, tunebench::device::describe(&d)),
        Err(e) => Check {
            fix: Some("check the NVIDIA driver (nvidia-smi) or use --device cpu".into()),
            ..check(
                "cuda",
                false,
                format!("built with CUDA, but no device opens: {e}"),
            )
        },
    }
}

fn runs_dir(dir: &Path) -> Vec<Check> {
    let shown = dir.display().to_string();
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists())
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .unwrap_or(Path::new("."));
    let probe = existing.join(format!(".tunebench-doctor-{}", std::process::id()));
    let writable = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    let mut out = vec![if writable {
        check("runs", true, format!("{shown} (writable)"))
    } else {
        Check {
            blocking: true,
            fix: Some(format!(
                "make {} writable, or pass --runs-dir / --out elsewhere",
                existing.display()
            )),
            ..check(
                "runs",
                false,
                format!("{shown}: cannot write in {}", existing.display()),
            )
        }
    }];
    if let Some(free) = tunebench::disk::free_bytes(existing) {
        let gib = free as f64 / (1u64 << 30) as f64;
        let ok = gib >= 1.0;
        out.push(Check {
            blocking: !ok,
            fix: (!ok).then(|| {
                "free disk space: each checkpoint of a base-size model takes ~0.5 GB".to_string()
            }),
            ..check("disk", ok, format!("{gib:.1} GiB free"))
        });
    }
    if let Some(limit) = tunebench::disk::file_size_limit() {
        // A checkpoint is one file of the model's size (~0.5 GB for base).
        let ok = limit >= 1 << 30;
        out.push(Check {
            blocking: !ok,
            fix: (!ok).then(|| "raise the file size limit: `ulimit -f unlimited`".to_string()),
            ..check(
                "file size",
                ok,
                format!(
                    "ulimit -f caps each file at {}",
                    tunebench::disk::human_bytes(limit)
                ),
            )
        });
    }
    out
}

fn hf_cache() -> Check {
    let Some(cache) = tunebench::data::hf::cache_dir() else {
        return check(
            "hf cache",
            true,
            "no HF cache location (set HF_HOME or HF_HUB_CACHE to use hub ids)".into(),
        );
    };
    let entries: Vec<String> = std::fs::read_dir(&cache)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let named = |kind: &str| -> Vec<String> {
        let mut v: Vec<String> = entries
            .iter()
            .filter_map(|e| e.strip_prefix(&format!("{kind}--")))
            .map(|e| e.replacen("--", "/", 1))
            .collect();
        v.sort();
        v
    };
    let (models, datasets) = (named("models"), named("datasets"));
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else if v.len() > 4 {
            format!("{} and {} more", v[..4].join(", "), v.len() - 4)
        } else {
            v.join(", ")
        }
    };
    check(
        "hf cache",
        true,
        format!(
            "{}{}: models {}; datasets {} (tunebench never downloads)",
            cache.display(),
            if cache.is_dir() { "" } else { " (missing)" },
            list(&models),
            list(&datasets)
        ),
    )
}

pub(crate) fn doctor_cmd(runs: &Path) -> anyhow::Result<ExitCode> {
    let mut checks = vec![terminal(), colour(), cpu(), cuda()];
    checks.extend(runs_dir(runs));
    checks.push(hf_cache());
    println!(
        "tunebench {}",
        tunebench::build_info::long_version(&tunebench::model::quant::kernel_report())
            .lines()
            .next()
            .unwrap_or("")
    );
    for c in &checks {
        let mark = if c.ok {
            "ok  "
        } else if c.blocking {
            "FAIL"
        } else {
            "warn"
        };
        println!("{mark} {:<9} {}", c.what, c.detail);
        if let Some(fix) = &c.fix {
            println!("     {:<9} fix: {fix}", "");
        }
    }
    match checks.iter().find(|c| c.blocking && !c.ok) {
        Some(c) => {
            println!(
                "not usable yet: {}",
                c.fix.as_deref().unwrap_or("see above")
            );
            Ok(ExitCode::from(1))
        }
        None => {
            println!("usable: `tunebench` opens the TUI on the bundled sample corpus");
            Ok(ExitCode::SUCCESS)
        }
    }
}
