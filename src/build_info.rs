//! What this binary is and what it will use here: version, commit,
//! compiled features, and the CPU instruction paths picked at run time.

/// The git commit the binary was built from ("unknown" outside git).
pub const COMMIT: &str = env!("TUNEBENCH_GIT_COMMIT");

/// Compiled-in optional features.
pub fn features() -> Vec<&'static str> {
    let mut f = Vec::new();
    if cfg!(feature = "cuda") {
        f.push("cuda");
    }
    f
}

/// The CPU's model name (Linux `/proc/cpuinfo`).
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// The instruction path our matmul (gemm) and row kernels take on this
/// CPU, chosen at run time: AVX-512, AVX2+FMA, or the portable one.
pub fn cpu_path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512f";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "avx2+fma";
        }
        "sse2"
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "portable"
    }
}

/// Low-precision instructions this CPU has (from `/proc/cpuinfo`).
pub fn low_precision_instructions() -> Vec<&'static str> {
    let flags = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("flags"))
                .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        })
        .unwrap_or_default();
    [
        "avx512_bf16",
        "avx512_vnni",
        "avx_vnni",
        "amx_bf16",
        "amx_int8",
    ]
    .into_iter()
    .filter(|f| flags.iter().any(|x| x == f))
    .collect()
}

/// `tunebench --version`'s text.
pub fn long_version(inference_kernels: &str) -> String {
    let features = features();
    let low = low_precision_instructions();
    format!(
        "{} (commit {COMMIT})\nfeatures: {}\ncpu: {} — kernels use {}{}",
        env!("CARGO_PKG_VERSION"),
        if features.is_empty() {
            "none (CPU only; build with --features cuda for GPUs)".to_string()
        } else {
            features.join(", ")
        },
        cpu_model().unwrap_or_else(|| "unknown CPU".into()),
        cpu_path(),
        low_precision_note(&low, inference_kernels)
    )
}

/// Which kernels `--precision int8` / `bf16` run here (the model layer's
/// report, passed in), and what of the CPU's low-precision instructions
/// goes unused.
pub fn low_precision_note(low: &[&str], inference_kernels: &str) -> String {
    let mut note = format!("; inference kernels: {inference_kernels}");
    let amx: Vec<&str> = low
        .iter()
        .copied()
        .filter(|f| f.starts_with("amx"))
        .collect();
    if !amx.is_empty() {
        note.push_str(&format!(
            "; has {} (not used: stable Rust has no AMX intrinsics)",
            amx.join(", ")
        ));
    }
    note
}
