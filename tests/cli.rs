//! The `tunebench` binary end to end: bad input gives a clear message and
//! exit code 2; train, resume, eval and predict work from the shell.

mod common;

use common::cli::*;
use common::*;
use std::path::Path;

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_str().unwrap().to_string()
}

fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--model",
        "scratch:tiny",
        "--max-steps",
        "2",
        "--out",
        out,
    ]
}

#[test]
fn bad_data_files_exit_2_naming_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run").to_str().unwrap().to_string();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            write(d.path(), "ragged.csv", b"text,label\na,pos\nb,neg,x\n"),
            vec!["ragged.csv:3", "ragged row"],
        ),
        (
            write(d.path(), "nocol.csv", b"body,label\na,pos\n"),
            vec!["no text column", "--text-col"],
        ),
        (
            write(d.path(), "utf8.csv", b"text,label\nok,pos\nbad \xff,neg\n"),
            vec!["utf8.csv:3", "invalid UTF-8", "--lossy-utf8"],
        ),
        (
            write(d.path(), "empty.csv", b""),
            vec!["empty.csv", "empty"],
        ),
        (
            write(d.path(), "header.csv", b"text,label\n"),
            vec!["corpus is empty"],
        ),
        (
            write(
                d.path(),
                "blank.jsonl",
                b"{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"\",\"label\":\"y\"}\n",
            ),
            vec!["blank.jsonl:2", "empty text", "--skip-empty"],
        ),
        (
            write(
                d.path(),
                "broken.jsonl",
                b"{\"text\":\"a\",\"label\":\"x\"}\n{oops\n",
            ),
            vec!["broken.jsonl:2", "malformed JSON"],
        ),
        (
            write(d.path(), "one.csv", b"text,label\na,pos\nb,pos\n"),
            vec!["only one label"],
        ),
        (
            write(d.path(), "data.txt", b"hello\n"),
            vec!["unknown file type"],
        ),
    ];
    for (file, needles) in &cases {
        bad_input(&train_args(file, &out), needles);
    }
    bad_input(
        &train_args("/no/such/file.csv", &out),
        &["/no/such/file.csv", "cannot read"],
    );
    // The OS's reason is said once, not once per link of the error chain.
    let err = tunebench()
        .args(train_args("/no/such/file.csv", &out))
        .output()
        .unwrap()
        .stderr;
    let err = String::from_utf8_lossy(&err);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn bad_models_and_settings_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let (data, _) = reviews();
    let data = data.to_str().unwrap();
    let out = d.path().join("run");
    let out = out.to_str().unwrap();
    let mut args = train_args(data, out);

    args[4] = "/no/such/model-dir";
    bad_input(&args, &["no such directory"]);
    args[4] = "acme/not-cached";
    bad_input(
        &args,
        &["not in the HuggingFace cache", "does not download"],
    );
    args[4] = "scratch:huge";
    bad_input(&args, &["unknown scratch size"]);

    let empty_dir = tempfile::tempdir().unwrap();
    args[4] = empty_dir.path().to_str().unwrap();
    bad_input(&args, &["missing config.json"]);

    let pickle = copy_dir(&fixture("bert").join("model"));
    std::fs::remove_file(pickle.path().join("model.safetensors")).unwrap();
    std::fs::write(pickle.path().join("pytorch_model.bin"), b"not really").unwrap();
    args[4] = pickle.path().to_str().unwrap();
    bad_input(&args, &["pytorch_model.bin", "safetensors"]);

    let mut a = train_args(data, out);
    a.extend(["--set", "lr=-1", "--set", "batch_size=0"]);
    bad_input(&a, &["lr: must be in (0, 1)", "batch_size: must be"]);
    let mut a = train_args(data, out);
    a.extend(["--set", "freeze=layers:99"]);
    bad_input(
        &a,
        &["freeze: layers:99, but the model has 2 encoder layers"],
    );
    let mut a = train_args(data, out);
    a.extend(["--set", "freeze=half"]);
    bad_input(&a, &["unknown freeze 'half'"]);
    // LoRA: on a scratch model (refused: nothing pretrained to keep
    // frozen), rank 0, an unknown module, a module this model lacks.
    let mut a = train_args(data, out);
    a.extend(["--set", "peft=lora"]);
    bad_input(&a, &["peft: LoRA adapts a pretrained encoder"]);
    let bert = fixture("bert").join("model");
    let mut a = train_args(data, out);
    a[4] = bert.to_str().unwrap();
    a.extend(["--set", "peft=lora", "--set", "lora_r=0"]);
    bad_input(&a, &["lora_r: must be 1..=1024"]);
    let mut a = train_args(data, out);
    a[4] = bert.to_str().unwrap();
    a.extend(["--set", "peft=lora", "--set", "lora_targets=query,qkv"]);
    bad_input(&a, &["lora_targets: unknown module 'qkv'"]);
    let mut a = train_args(data, out);
    a[4] = bert.to_str().unwrap();
    a.extend(["--set", "peft=lora", "--set", "lora_targets=q_lin"]);
    bad_input(&a, &["lora_targets: 'q_lin' matches no linear layer"]);
    // (IA)³ and DoRA: a scratch model, a feed-forward module that is not
    // a target, an unknown module, a frozen encoder on top.
    let mut a = train_args(data, out);
    a.extend(["--set", "peft=ia3"]);
    bad_input(&a, &["peft: (IA)³ adapts a pretrained encoder"]);
    let mut a = train_args(data, out);
    a.extend(["--set", "peft=ia3", "--set", "ia3_feedforward=query"]);
    bad_input(&a, &["ia3_feedforward: 'query' is not one of ia3_targets"]);
    let mut a = train_args(data, out);
    a.extend(["--set", "peft=ia3", "--set", "ia3_targets=key,ffn"]);
    bad_input(&a, &["ia3_targets: unknown module 'ffn'"]);
    let mut a = train_args(data, out);
    a.extend(["--set", "peft=dora", "--set", "freeze=encoder"]);
    bad_input(&a, &["freeze: must be none with peft = \"dora\""]);
    let mut a = train_args(data, out);
    a.extend(["--set", "peft=adalora_v2"]);
    bad_input(&a, &["unknown variant `adalora_v2`", "`adalora`, `ia3`"]);
    // Prefix tuning: too many virtual tokens; DistilBERT (no past keys).
    let mut a = train_args(data, out);
    a[4] = bert.to_str().unwrap();
    a.extend(["--set", "peft=prefix", "--set", "prefix_tokens=0"]);
    bad_input(&a, &["prefix_tokens: must be 1..=512"]);
    // The fixture has 40 positions: 35 virtual tokens leave 5 for the text.
    let mut a = train_args(data, out);
    a[4] = bert.to_str().unwrap();
    a.extend(["--set", "peft=prefix", "--set", "prefix_tokens=35"]);
    bad_input(
        &a,
        &["prefix_tokens: 35 virtual tokens leave 5 of the model's 40 positions"],
    );
    let distil = fixture("distilbert").join("model");
    let mut a = train_args(data, out);
    a[4] = distil.to_str().unwrap();
    a.extend(["--set", "peft=prefix"]);
    bad_input(&a, &["prefix tuning needs a BERT or RoBERTa encoder"]);
    // AdaLoRA: a target rank above the initial one; a schedule that leaves
    // no step to cut ranks in (the fixture run has 2 steps).
    let mut a = train_args(data, out);
    a[4] = bert.to_str().unwrap();
    a.extend(["--set", "peft=adalora", "--set", "adalora_target_r=16"]);
    bad_input(&a, &["adalora_target_r: must be 1..=adalora_init_r"]);
    let mut a = train_args(data, out);
    a[4] = bert.to_str().unwrap();
    a.extend(["--set", "peft=adalora", "--set", "adalora_tinit=2"]);
    bad_input(
        &a,
        &["adalora_tinit: 2 plus adalora_tfinal 0 leaves none of the run's 2 steps"],
    );
    let mut a = train_args(data, out);
    a.extend(["--set", "epoch=3"]);
    bad_input(&a, &["unknown key 'epoch'; did you mean 'epochs'"]);
    if cfg!(not(feature = "cuda")) {
        let mut a = train_args(data, out);
        a.extend(["--set", "device=cuda"]);
        bad_input(&a, &["built without CUDA", "--features cuda"]);
    }
    let mut a = train_args(data, out);
    a.extend(["--set", "device=tpu"]);
    bad_input(&a, &["device: must be cpu, cuda or cuda:N"]);
    let mut a = train_args(data, out);
    a.extend(["--set", "precision=fp8"]);
    bad_input(
        &a,
        &["precision=fp8", "expected one of `f32`, `bf16`, `f16`"],
    );
    let mut a = train_args(data, out);
    a.extend(["--precision", "half"]);
    bad_input(&a, &["unknown precision 'half' (f32, bf16 or f16)"]);
}

#[test]
fn eval_rejects_labels_unknown_to_the_model() {
    let d = tempfile::tempdir().unwrap();
    let data = write(
        d.path(),
        "eval.csv",
        b"text,label\nthe movie was great,pos\nbad film,positive\n",
    );
    let ck = fixture("bert").join("model");
    bad_input(
        &[
            "eval",
            "--checkpoint",
            ck.to_str().unwrap(),
            "--data",
            &data,
        ],
        &[
            "eval.csv:3",
            "'positive' is unknown to the model",
            "neg, neutral, pos",
        ],
    );
}

#[test]
fn train_resume_eval_and_predict_from_the_shell() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    let (train, heldout) = tickets();
    let stdout = succeed(
        tunebench()
            .args([
                "train",
                "--data",
                train.to_str().unwrap(),
                "--model",
                "scratch:tiny",
                "--epochs",
                "2",
                "--max-steps",
                "6",
            ])
            .args([
                "--set",
                "log_every=2",
                "--set",
                "max_len=32",
                "--set",
                "lr=1e-3",
                "--out",
                run.to_str().unwrap(),
            ]),
    );
    // Plain lines when stdout is not a terminal: no carriage returns.
    assert!(!stdout.contains('\r'));
    assert!(
        stdout.contains("step 2/6") && stdout.contains("step 6/6"),
        "{stdout}"
    );
    assert!(stdout.contains("finished (MaxSteps) at step 6"), "{stdout}");
    assert!(run.join("train.log").is_file());
    let log = std::fs::read_to_string(run.join("train.log")).unwrap();
    assert!(log.contains("eval step 6"), "{log}");

    // Resume continues the same run to its end (2 epochs).
    let stdout = succeed(tunebench().args([
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--max-steps",
        "0",
    ]));
    assert!(
        stdout.contains("resuming at 6") && stdout.contains("step 8/"),
        "{stdout}"
    );
    assert!(stdout.contains("finished (Completed)"), "{stdout}");

    let best = run.join("best");
    let preds = d.path().join("preds.csv");
    let stdout = succeed(
        tunebench()
            .args([
                "eval",
                "--checkpoint",
                best.to_str().unwrap(),
                "--data",
                heldout.to_str().unwrap(),
                "--format",
                "json",
            ])
            .args(["--predictions", preds.to_str().unwrap()]),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["rows"], 128);
    assert!(v["accuracy"].as_f64().unwrap() > 0.0);
    assert_eq!(v["confusion"].as_array().unwrap().len(), 8);
    let csv = std::fs::read_to_string(&preds).unwrap();
    assert_eq!(csv.lines().count(), 129);
    assert!(
        csv.starts_with("line,text,label,predicted,score,correct,p_account"),
        "{csv}"
    );

    let stdout = succeed(tunebench().args([
        "predict",
        "--checkpoint",
        best.to_str().unwrap(),
        "Where is my parcel?",
        "I was charged twice",
    ]));
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["text"], "Where is my parcel?");
    assert_eq!(lines[0]["logits"].as_array().unwrap().len(), 8);
    assert_eq!(lines[0]["probs"].as_object().unwrap().len(), 8);
    let top = lines[0]["label"].as_str().unwrap();
    assert_eq!(lines[0]["score"], lines[0]["probs"][top]);

    let input = write(
        d.path(),
        "texts.txt",
        b"Cancel my order please\n\nthe kettle broke\n",
    );
    let text = succeed(tunebench().args([
        "predict",
        "--checkpoint",
        best.to_str().unwrap(),
        "--input",
        &input,
        "--format",
        "csv",
    ]));
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.starts_with("text,label,score,p_account"), "{text}");
}

#[test]
fn hub_ids_resolve_from_a_cache_laid_out_like_huggingface_hub() {
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().join("models--acme--tiny-bert");
    let snap = root.join("snapshots/0123abcd");
    std::fs::create_dir_all(root.join("refs")).unwrap();
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::write(root.join("refs/main"), "0123abcd").unwrap();
    for e in std::fs::read_dir(fixture("bert").join("model"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), snap.join(e.file_name())).unwrap();
    }
    let d = tempfile::tempdir().unwrap();
    let data = write(
        d.path(),
        "d.csv",
        b"text,label\nthe movie was great,pos\nawful film,neg\nit was ok,neutral\ngreat fun,pos\n",
    );
    succeed(
        tunebench()
            .env("HF_HUB_CACHE", cache.path())
            .args([
                "train",
                "--data",
                &data,
                "--model",
                "acme/tiny-bert",
                "--max-steps",
                "1",
                "--set",
                "val_split=0.5",
            ])
            .args(["--out", d.path().join("run").to_str().unwrap()]),
    );
    let cfg = std::fs::read_to_string(d.path().join("run/config.toml")).unwrap();
    assert!(cfg.contains("snapshots/0123abcd"), "{cfg}");
    // The classifier's own labels (neg, neutral, pos) were kept.
    assert!(
        cfg.contains("labels = [\n    \"neg\",\n    \"neutral\",\n    \"pos\","),
        "{cfg}"
    );
}

#[test]
fn a_lora_run_exports_a_merged_plain_checkpoint_with_the_same_predictions() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    let (train, _) = reviews();
    let bert = fixture("bert").join("model");
    let stdout = succeed(tunebench().args([
        "train",
        "--data",
        train.to_str().unwrap(),
        "--model",
        bert.to_str().unwrap(),
        "--max-steps",
        "4",
        "--set",
        "peft=lora",
        "--set",
        "lora_targets=all-linear",
        "--out",
        run.to_str().unwrap(),
    ]));
    assert!(stdout.contains("trainable"), "{stdout}");
    let ckpt = run.join("checkpoints/step-4");
    let out = d.path().join("merged");
    let refused = tunebench()
        .args(["export", "--checkpoint", ckpt.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pass --merge"));
    succeed(
        tunebench()
            .args(["export", "--merge", "--checkpoint", ckpt.to_str().unwrap()])
            .args(["--out", out.to_str().unwrap()]),
    );
    assert!(out.join("model.safetensors").is_file());
    assert!(!out.join("adapter_model.safetensors").exists());
    let predict = |dir: &Path| {
        succeed(tunebench().args([
            "predict",
            "--checkpoint",
            dir.to_str().unwrap(),
            "The tent is superb",
            "the blender broke",
        ]))
    };
    assert_eq!(predict(&ckpt), predict(&out));
    // The same checkpoint as adapters on the base model (not its merged
    // weights) predicts the same, within float rounding.
    let adapters = succeed(tunebench().args([
        "predict",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--base",
        bert.to_str().unwrap(),
        "The tent is superb",
        "the blender broke",
    ]));
    let d = max_logit_diff(&adapters, &predict(&out));
    assert!(d < 1e-5, "adapters vs merged: {d}");
}

/// Largest |difference| between the logits of two `predict` JSONL outputs.
fn max_logit_diff(a: &str, b: &str) -> f64 {
    let logits = |s: &str| -> Vec<f64> {
        s.lines()
            .flat_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["logits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let (a, b) = (logits(a), logits(b));
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// An adapter saved by Python peft (no weights of its own, base recorded
/// as a path relative to it): predict and eval load it on its base, export
/// merges it into a plain checkpoint, and a missing base says --base.
#[test]
fn a_python_peft_adapter_predicts_evaluates_and_exports() {
    let d = tempfile::tempdir().unwrap();
    let adapter = fixture("bert").join("lora/adapter");
    let base = fixture("bert").join("model");
    let texts = ["the movie was great", "a very boring and slow film"];
    let on_adapter = succeed(
        tunebench()
            .args(["predict", "--checkpoint", adapter.to_str().unwrap()])
            .args(texts),
    );
    let on_base = succeed(
        tunebench()
            .args(["predict", "--checkpoint", base.to_str().unwrap()])
            .args(texts),
    );
    assert!(
        max_logit_diff(&on_adapter, &on_base) > 1e-2,
        "the adapter changes the base model's logits"
    );
    let merged = d.path().join("merged");
    succeed(tunebench().args([
        "export",
        "--merge",
        "--checkpoint",
        adapter.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]));
    let on_merged = succeed(
        tunebench()
            .args(["predict", "--checkpoint", merged.to_str().unwrap()])
            .args(texts),
    );
    let diff = max_logit_diff(&on_adapter, &on_merged);
    assert!(diff < 1e-5, "merged export vs adapter: {diff}");
    let data = write(
        d.path(),
        "eval.csv",
        b"text,label\nthe movie was great,pos\na very boring and slow film,neg\n",
    );
    let table = succeed(tunebench().args([
        "eval",
        "--checkpoint",
        adapter.to_str().unwrap(),
        "--data",
        &data,
    ]));
    assert!(table.contains("accuracy"), "{table}");

    // Moved away from its base: the recorded path no longer resolves.
    let moved = d.path().join("moved");
    std::fs::create_dir(&moved).unwrap();
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        std::fs::copy(adapter.join(f), moved.join(f)).unwrap();
    }
    bad_input(
        &["predict", "--checkpoint", moved.to_str().unwrap(), "x"],
        &["../../model", "--base"],
    );
    let with_base = succeed(
        tunebench()
            .args(["predict", "--checkpoint", moved.to_str().unwrap()])
            .args(["--base", base.to_str().unwrap()])
            .args(texts),
    );
    assert_eq!(with_base, on_adapter);
    bad_input(
        &[
            "predict",
            "--checkpoint",
            base.to_str().unwrap(),
            "--base",
            base.to_str().unwrap(),
            "x",
        ],
        &["adapter_config.json"],
    );
    // A config that says DoRA over weights without magnitudes is refused.
    let cfg = std::fs::read_to_string(moved.join("adapter_config.json")).unwrap();
    std::fs::write(
        moved.join("adapter_config.json"),
        cfg.replace("\"use_dora\": false", "\"use_dora\": true"),
    )
    .unwrap();
    bad_input(
        &[
            "predict",
            "--checkpoint",
            moved.to_str().unwrap(),
            "--base",
            base.to_str().unwrap(),
            "x",
        ],
        &["use_dora is set, but not every adapted module has a lora_magnitude_vector"],
    );
}

/// A prefix-tuning adapter saved by Python peft predicts on its base, and
/// `export --merge` refuses it by name (virtual tokens are not weights).
#[test]
fn a_python_peft_prefix_adapter_predicts_and_is_not_merged() {
    let d = tempfile::tempdir().unwrap();
    let base = fixture("bert").join("model");
    let adapter = fixture("bert").join("prefix-mlp").join("adapter");
    let texts = ["the movie was great", "a very boring and slow film"];
    let on_base = succeed(
        tunebench()
            .args(["predict", "--checkpoint", base.to_str().unwrap()])
            .args(texts),
    );
    let on_adapter = succeed(
        tunebench()
            .args(["predict", "--checkpoint", adapter.to_str().unwrap()])
            .args(texts),
    );
    assert!(max_logit_diff(&on_adapter, &on_base) > 1e-2);
    let out = tunebench()
        .args([
            "export",
            "--merge",
            "--checkpoint",
            adapter.to_str().unwrap(),
        ])
        .args(["--out", d.path().join("m").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("prefix-tuning adapter") && err.contains("cannot be merged"),
        "{err}"
    );
    assert!(!d.path().join("m").exists());
}

/// DoRA and (IA)³ adapters saved by Python peft: predict and eval run them
/// on their base, and `export --merge` writes a plain checkpoint that
/// predicts the same.
#[test]
fn python_peft_dora_and_ia3_adapters_predict_and_export_merged() {
    let base = fixture("bert").join("model");
    let texts = ["the movie was great", "a very boring and slow film"];
    let on_base = succeed(
        tunebench()
            .args(["predict", "--checkpoint", base.to_str().unwrap()])
            .args(texts),
    );
    for kind in ["dora", "ia3"] {
        let d = tempfile::tempdir().unwrap();
        let adapter = fixture("bert").join(kind).join("adapter");
        let on_adapter = succeed(
            tunebench()
                .args(["predict", "--checkpoint", adapter.to_str().unwrap()])
                .args(texts),
        );
        assert!(
            max_logit_diff(&on_adapter, &on_base) > 1e-2,
            "{kind}: the adapter changes the base model's logits"
        );
        let merged = d.path().join("merged");
        succeed(tunebench().args([
            "export",
            "--merge",
            "--checkpoint",
            adapter.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ]));
        let on_merged = succeed(
            tunebench()
                .args(["predict", "--checkpoint", merged.to_str().unwrap()])
                .args(texts),
        );
        let diff = max_logit_diff(&on_adapter, &on_merged);
        assert!(diff < 1e-5, "{kind}: merged export vs adapter: {diff}");
        let data = write(
            d.path(),
            "eval.csv",
            b"text,label\nthe movie was great,pos\na very boring and slow film,neg\n",
        );
        let table = succeed(tunebench().args([
            "eval",
            "--checkpoint",
            adapter.to_str().unwrap(),
            "--data",
            &data,
        ]));
        assert!(table.contains("accuracy"), "{kind}: {table}");
    }
}

/// `predict --explain`: every row carries token attributions whose sum is
/// p(target) − p(baseline) (small delta); a chosen --target is explained;
/// bad explain settings exit 2.
#[test]
fn predict_explains_with_token_attributions() {
    let model = fixture("bert").join("model");
    let m = model.to_str().unwrap();
    let out = succeed(tunebench().args([
        "predict",
        "--checkpoint",
        m,
        "--explain",
        "--target",
        "neutral",
        "the movie was great",
        "a very boring and slow film",
    ]));
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["explained"], "neutral");
        let toks = v["attributions"].as_array().unwrap();
        assert_eq!(toks.first().unwrap()["token"], "[CLS]");
        assert_eq!(toks.first().unwrap()["score"], 0.0);
        let words = v["words"].as_array().unwrap();
        assert!(words.len() >= 4, "{v}");
        assert!(words
            .iter()
            .any(|w| w["score"].as_f64().unwrap().abs() > 1e-4));
        assert!(v["delta"].as_f64().unwrap().abs() < 1e-3, "{v}");
    }
    let table = succeed(tunebench().args([
        "predict",
        "--checkpoint",
        m,
        "--explain",
        "--format",
        "table",
        "the movie was great",
    ]));
    assert!(table.contains("why "), "{table}");
    assert!(table.contains('▲') || table.contains('▼'), "{table}");
    bad_input(
        &[
            "predict",
            "--checkpoint",
            m,
            "--explain",
            "--target",
            "nope",
            "x",
        ],
        &["target", "nope", "neg, neutral, pos"],
    );
    bad_input(
        &[
            "predict",
            "--checkpoint",
            m,
            "--explain",
            "--steps",
            "0",
            "x",
        ],
        &["steps"],
    );
    bad_input(
        &[
            "predict",
            "--checkpoint",
            m,
            "--explain",
            "--format",
            "csv",
            "x",
        ],
        &["format"],
    );
    bad_input(
        &["predict", "--checkpoint", m, "--target", "pos", "x"],
        &["--explain"],
    );
}

/// `inspect --label-issues-from RUN`: suspects from the run's out-of-sample
/// predictions on --data, as a list and a CSV; another file is refused.
#[test]
fn inspect_lists_label_issues_from_a_runs_predictions() {
    let d = tempfile::tempdir().unwrap();
    let (train, heldout) = reviews();
    let run = d.path().join("run");
    succeed(tunebench().args([
        "train",
        "--data",
        train.to_str().unwrap(),
        "--val",
        heldout.to_str().unwrap(),
        "--model",
        "scratch:tiny",
        "--max-steps",
        "6",
        "--set",
        "lr=5e-4",
        "--out",
        run.to_str().unwrap(),
    ]));
    let csv = d.path().join("issues.csv");
    let out = succeed(tunebench().args([
        "inspect",
        "--data",
        heldout.to_str().unwrap(),
        "--label-issues-from",
        run.to_str().unwrap(),
        "--out",
        csv.to_str().unwrap(),
    ]));
    assert!(out.contains("rows look mislabeled"), "{out}");
    let written = std::fs::read_to_string(&csv).unwrap();
    assert!(written.starts_with("line,text,given,suggested,confidence,p_suggested"));
    assert_eq!(
        written.lines().count() - 1,
        out.lines().filter(|l| l.starts_with("line ")).count(),
        "{out}"
    );
    bad_input(
        &[
            "inspect",
            "--data",
            train.to_str().unwrap(),
            "--label-issues-from",
            run.to_str().unwrap(),
        ],
        &["another file"],
    );
}

/// Two-word reviews whose label the words decide; rows 5, 23 and 41 (file
/// lines 7, 25, 43) carry the wrong label.
fn separable_corpus(dir: &Path) -> (String, Vec<u64>) {
    let good = [
        "great",
        "lovely",
        "superb",
        "excellent",
        "wonderful",
        "fine",
    ];
    let bad = ["awful", "terrible", "broken", "poor", "useless", "bad"];
    let things = ["lamp", "chair", "phone", "kettle", "bag", "desk"];
    let mut body = String::from("text,label\n");
    let flipped = [5usize, 23, 41];
    for i in 0..60 {
        let positive = i % 2 == 0;
        let word = if positive {
            good[i / 2 % 6]
        } else {
            bad[i / 2 % 6]
        };
        let mut label = if positive { "pos" } else { "neg" };
        if flipped.contains(&i) {
            label = if positive { "neg" } else { "pos" };
        }
        body.push_str(&format!("{word} {},{label}\n", things[i / 12 % 6]));
    }
    let path = write(dir, "noisy.csv", body.as_bytes());
    (path, flipped.iter().map(|&i| i as u64 + 2).collect())
}

/// `inspect --label-issues --folds K`: K fold runs give every row a
/// held-out probability; the flipped rows are found, the CSV feeds
/// `--label-issues-from` and the TUI; bad fold counts exit 2.
#[test]
fn inspect_finds_flipped_labels_by_k_fold_cross_validation() {
    let d = tempfile::tempdir().unwrap();
    let (data, flipped) = separable_corpus(d.path());
    let work = d.path().join("work");
    let out = succeed(tunebench().args([
        "inspect",
        "--data",
        &data,
        "--label-issues",
        "--folds",
        "3",
        "--model",
        "scratch:tiny",
        "--set",
        "batch_size=8",
        "--set",
        "max_len=16",
        "--work-dir",
        work.to_str().unwrap(),
    ]));
    assert!(out.contains("3-fold cross-validation"), "{out}");
    assert!(out.contains("fold 3/3: held-out accuracy"), "{out}");
    // Each fold predicted its rows; only the predictions stay on disk.
    let all = std::fs::read_to_string(work.join("predictions.csv")).unwrap();
    assert_eq!(all.lines().count(), 61);
    for f in 1..=3 {
        let fold = work.join(format!("fold-{f}"));
        assert!(fold.join("predictions.csv").is_file());
        assert!(!fold.join("checkpoints").exists() && !fold.join("best").exists());
    }
    let issues = std::fs::read_to_string(work.join("label-issues.csv")).unwrap();
    let lines: Vec<u64> = issues
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    for f in &flipped {
        assert!(lines.contains(f), "line {f} not flagged: {issues}");
    }
    assert!(lines.len() <= 6, "too many suspects: {issues}");
    // The work dir is a source of held-out predictions like a run.
    let again = succeed(tunebench().args([
        "inspect",
        "--data",
        &data,
        "--label-issues-from",
        work.to_str().unwrap(),
    ]));
    assert_eq!(
        again.lines().filter(|l| l.starts_with("line ")).count(),
        lines.len()
    );
    bad_input(
        &["inspect", "--data", &data, "--label-issues", "--folds", "1"],
        &["folds", "at least 2"],
    );
    bad_input(
        &[
            "inspect",
            "--data",
            &data,
            "--label-issues",
            "--folds",
            "61",
        ],
        &["61 folds for 60 rows"],
    );
}

/// A corrections file relabels, keeps and drops rows of the training file
/// for `train` and `inspect`; an unknown line or label exits 2.
#[test]
fn corrections_apply_on_load_and_bad_ones_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let (data, _) = separable_corpus(d.path());
    let fixes = write(
        d.path(),
        "noisy.corrections.csv",
        b"line,action,given,label,text\n7,relabel,pos,neg,broken lamp\n25,drop,pos,,bad chair\n8,keep,pos,,excellent lamp\n",
    );
    let report = succeed(tunebench().args(["inspect", "--data", &data, "--corrections", &fixes]));
    assert!(
        report.contains("1 relabeled, 1 kept as is, 1 dropped"),
        "{report}"
    );
    assert!(report.contains("rows: 59"), "{report}");
    let run = d.path().join("run");
    let mut args = train_args(&data, run.to_str().unwrap());
    args.extend(["--corrections", &fixes]);
    succeed(tunebench().args(&args));
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("noisy.corrections.csv"), "{config}");
    let events = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let started: serde_json::Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    let rows = started["train_rows"].as_u64().unwrap() + started["val_rows"].as_u64().unwrap();
    assert_eq!(rows, 59, "{started}");

    let unknown_line = write(
        d.path(),
        "c1.csv",
        b"line,action,given,label,text\n7,keep,pos,,broken lamp\n999,keep,neg,,x\n",
    );
    bad_input(
        &["inspect", "--data", &data, "--corrections", &unknown_line],
        &["c1.csv:3", "no data row at line 999"],
    );
    let unknown_label = write(
        d.path(),
        "c2.csv",
        b"line,action,given,label,text\n7,relabel,pos,meh,broken lamp\n",
    );
    let mut args = train_args(&data, "unused");
    args.extend(["--corrections", &unknown_label]);
    bad_input(&args, &["c2.csv:2", "unknown label 'meh'", "neg, pos"]);
}

/// `--data hf:ORG/NAME[:CONFIG][@REV]` reads a dataset's Parquet split from
/// an HF cache laid out here as huggingface_hub lays it out; a missing
/// split or config is an error listing the cached ones.
#[test]
fn hf_datasets_load_offline_from_the_hub_cache() {
    let cache = tempfile::tempdir().unwrap();
    let repo = cache.path().join("datasets--acme--reviews");
    let fixtures = root().join("tests/fixtures/parquet");
    let snap = |rev: &str, files: &[(&str, &str)]| {
        for (from, to) in files {
            let dest = repo.join("snapshots").join(rev).join(to);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(fixtures.join(from), dest).unwrap();
        }
    };
    snap(
        "1111",
        &[
            ("hf_train.parquet", "data/train-00000-of-00002.parquet"),
            ("hf_train.parquet", "data/train-00001-of-00002.parquet"),
            ("hf_train.parquet", "data/validation-00000-of-00001.parquet"),
        ],
    );
    snap(
        "2222",
        &[("plain.parquet", "data/train-00000-of-00001.parquet")],
    );
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "1111\n").unwrap();
    let hf = |args: &[&str]| {
        let mut c = tunebench();
        c.env("HF_HUB_CACHE", cache.path()).args(args);
        c
    };
    let report = succeed(&mut hf(&["inspect", "--data", "hf:acme/reviews"]));
    assert!(report.contains("rows: 8"), "two shards of 4: {report}");
    assert!(
        report.contains("positive") && report.contains("negative"),
        "{report}"
    );
    let old = succeed(&mut hf(&["inspect", "--data", "hf:acme/reviews@2222"]));
    assert!(old.contains("rows: 4") && old.contains("pos "), "{old}");

    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    succeed(&mut hf(&[
        "train",
        "--data",
        "hf:acme/reviews",
        "--val-split",
        "validation",
        "--model",
        "scratch:tiny",
        "--max-steps",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]));
    let events = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let started: serde_json::Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(started["train_rows"], 8, "{started}");
    assert_eq!(started["val_rows"], 4, "{started}");
    assert_eq!(
        started["labels"],
        serde_json::json!(["negative", "positive"])
    );

    let bad = |args: &[&str], needles: &[&str]| {
        let out = hf(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: {err} lacks {n}");
        }
    };
    bad(
        &[
            "train",
            "--data",
            "hf:acme/reviews",
            "--split",
            "test",
            "--model",
            "scratch:tiny",
        ],
        &["no split 'test'", "cached splits: train, validation"],
    );
    bad(
        &["inspect", "--data", "hf:acme/reviews:sst2"],
        &["no config 'sst2'", "default"],
    );
    bad(
        &["inspect", "--data", "hf:acme/missing"],
        &["not in the HuggingFace cache", "does not download"],
    );
}

/// A sentence-pair corpus (text_a/text_b) trains a BERT classifier and
/// `predict --input` scores pairs; `--explain` refuses them clearly.
#[test]
fn sentence_pair_tasks_train_and_predict_end_to_end() {
    let d = tempfile::tempdir().unwrap();
    let mut body = String::from("text_a\ttext_b\tlabel\n");
    for i in 0..24 {
        let (b, label) = if i % 2 == 0 {
            ("the movie was great", "pos")
        } else {
            ("a very boring and slow film", "neg")
        };
        body.push_str(&format!("review {i}\t{b}\t{label}\n"));
    }
    let data = write(d.path(), "pairs.tsv", body.as_bytes());
    let run = d.path().join("run");
    let model = fixture("bert").join("model");
    succeed(tunebench().args([
        "train",
        "--data",
        &data,
        "--model",
        model.to_str().unwrap(),
        "--max-steps",
        "2",
        "--out",
        run.to_str().unwrap(),
    ]));
    let out = succeed(tunebench().args([
        "predict",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--input",
        &data,
        "--format",
        "jsonl",
    ]));
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["text"], "review 0");
    assert_eq!(first["text_b"], "the movie was great");
    assert_eq!(out.lines().count(), 24);
    // The checkpoint says what it was fine-tuned on (serve's /info shows it).
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("best/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["tunebench_input"], "sentence_pairs");
    bad_input(
        &[
            "predict",
            "--checkpoint",
            run.join("best").to_str().unwrap(),
            "--input",
            &data,
            "--explain",
        ],
        &["sentence pairs"],
    );
}

/// `doctor` reports on one screen and exits 0 when usable, 1 with the fix
/// when the runs dir cannot be written; `--version` names the commit and
/// CPU path; completions and the man page come from the clap definitions.
#[test]
fn doctor_version_completions_and_man_page() {
    let out = succeed(tunebench().args(["doctor"]));
    for part in ["cpu", "cuda", "runs", "disk", "hf cache", "usable"] {
        assert!(out.contains(part), "{part}: {out}");
    }
    let d = tempfile::tempdir().unwrap();
    let file = write(d.path(), "not-a-dir", b"x");
    let out = tunebench()
        .args(["doctor", "--runs-dir", &format!("{file}/runs")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL") && text.contains("not usable yet"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{file}/runs: cannot write")),
        "{text}"
    );

    let version = succeed(tunebench().arg("--version"));
    assert!(version.contains(env!("CARGO_PKG_VERSION")) && version.contains("commit"));
    assert!(version.contains("kernels use"), "{version}");
    let bash = succeed(tunebench().args(["completions", "bash"]));
    assert!(bash.contains("_tunebench") && bash.contains("inspect"));
    let zsh = succeed(tunebench().args(["completions", "zsh"]));
    assert!(zsh.contains("#compdef tunebench"));
    let man = succeed(tunebench().arg("man"));
    assert!(man.contains(".TH tunebench 1") && man.contains("doctor"));
    // The TUI's keys, from assets/keys.toml.
    assert!(
        man.contains(".SH \"TUI KEYS\"") && man.contains("\\fBR\\fR"),
        "{man}"
    );
    // --dir: the main page and the subcommand pages it names.
    let pages = d.path().join("man1");
    let out = succeed(tunebench().args(["man", "--dir"]).arg(&pages));
    assert!(out.contains("pages to"), "{out}");
    let main = std::fs::read_to_string(pages.join("tunebench.1")).unwrap();
    assert_eq!(main, man);
    let train = std::fs::read_to_string(pages.join("tunebench-train.1")).unwrap();
    assert!(
        train.contains(".TH tunebench-train 1") && train.contains("\\-\\-resume"),
        "{train}"
    );
    for named in ["tunebench\\-serve(1)", "tunebench\\-attach(1)"] {
        assert!(main.contains(named), "{named} not in the main page");
    }
    for file in [
        "tunebench-serve.1",
        "tunebench-attach.1",
        "tunebench-inspect.1",
    ] {
        assert!(pages.join(file).is_file(), "{file}");
    }
}

/// `cmd` run through `sh -c` with the test's offline environment.
fn shell(script: &str) -> std::process::Output {
    std::process::Command::new("sh")
        .args(["-c", script])
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("HF_HOME")
        .env("HF_HUB_CACHE", "/nonexistent-hf-cache")
        .output()
        .unwrap()
}

/// A disk that fills up mid-run (a 10 MB tmpfs in a user+mount
/// namespace; skipped, saying why, where those are not allowed): the
/// checkpoint that does not fit is refused naming its path and the space
/// it needs, the previous checkpoint stays whole and loads, and the run
/// stops with exit 1 and a `failed` event.
#[test]
fn a_full_disk_stops_the_run_and_keeps_the_last_checkpoint() {
    let bin = assert_cmd::cargo::cargo_bin("tunebench");
    let (train, heldout) = reviews();
    let d = tempfile::tempdir().unwrap();
    let (disk, kept) = (d.path().join("small-disk"), d.path().join("kept"));
    std::fs::create_dir_all(&disk).unwrap();
    std::fs::create_dir_all(&kept).unwrap();
    let mount = format!(
        "unshare --user --map-root-user --mount sh -c 'mount -t tmpfs -o size=10m none {} && df -k {} >/dev/null'",
        disk.display(),
        disk.display()
    );
    let probe = shell(&mount);
    if !probe.status.success() {
        eprintln!(
            "skipped: cannot mount a small tmpfs here ({})",
            String::from_utf8_lossy(&probe.stderr).trim()
        );
        return;
    }
    // Each scratch:tiny checkpoint takes 6.9 MB: the first fits, the
    // second does not. What the namespace wrote is copied out before it
    // goes away.
    let run = disk.join("run");
    let script = format!(
        "unshare --user --map-root-user --mount sh -c 'mount -t tmpfs -o size=10m none {disk} && \
         {bin} train --data {train} --model scratch:tiny --max-steps 6 --set eval_every=2 --out {run}; \
         echo $? > {kept}/rc; cp -r {run}/checkpoints {run}/metrics.jsonl {kept}/'",
        disk = disk.display(),
        bin = bin.display(),
        train = train.display(),
        run = run.display(),
        kept = kept.display(),
    );
    let out = shell(&script);
    let err = String::from_utf8_lossy(&out.stderr);
    let rc = std::fs::read_to_string(kept.join("rc")).unwrap();
    assert_eq!(rc.trim(), "1", "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let tmp_step = run.join("checkpoints").join(".tmp-step-4");
    assert!(
        err.contains(&format!("disk full writing {}/", tmp_step.display())),
        "{err}"
    );
    assert!(
        err.contains(": it needs ") && err.contains(" free there"),
        "{err}"
    );
    let last = run.join("checkpoints").join("step-2");
    assert!(
        err.contains(&format!(
            "the last good checkpoint is intact: {} (step 2)",
            last.display()
        )),
        "{err}"
    );
    // Only the whole checkpoint is left: the partial one was removed.
    assert_eq!(names_in(&kept.join("checkpoints")), ["step-2"], "{err}");
    let metrics = std::fs::read_to_string(kept.join("metrics.jsonl")).unwrap();
    let end: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    assert_eq!(end["event"], "failed");
    assert_eq!(end["step"], 4);
    // The kept checkpoint loads and evaluates.
    let ckpt = kept.join("checkpoints").join("step-2");
    let stdout = succeed(tunebench().args([
        "eval",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        heldout.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["rows"], 180);
}

/// `ulimit -f` below a checkpoint's size: the write fails with a message
/// naming the file and the limit (SIGXFSZ does not kill the process) and
/// the run stops with exit 1.
#[test]
fn a_file_size_limit_stops_the_run_with_a_clear_error() {
    let bin = assert_cmd::cargo::cargo_bin("tunebench");
    let (train, _) = reviews();
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    // 1 MB (sh counts 512-byte blocks, bash 1 KiB ones: either is far
    // below the 2.3 MB model file).
    let out = shell(&format!(
        "ulimit -f 1024 && exec {} train --data {} --model scratch:tiny --max-steps 2 --set eval_every=2 --out {}",
        bin.display(),
        train.display(),
        run.display()
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("file size limit reached writing "), "{err}");
    assert!(err.contains("safetensors: it needs "), "{err}");
    assert!(err.contains("raise `ulimit -f`"), "{err}");
    assert!(err.contains("no checkpoint was written yet"), "{err}");
    assert!(names_in(&run.join("checkpoints")).is_empty());
}

/// The names in `dir` (none when it does not exist).
fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `bench-explain` times Integrated Gradients in process and reports the
/// sentence's token count, the steps and a convergence delta; zero runs or
/// steps are refused.
#[test]
fn bench_explain_reports_latency_as_json() {
    let model = fixture("bert").join("model");
    let m = model.to_str().unwrap();
    let out = succeed(tunebench().args([
        "bench-explain",
        "--checkpoint",
        m,
        "--text",
        "the movie was great",
        "--runs",
        "3",
        "--steps",
        "8",
    ]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["steps"], 8);
    assert_eq!(v["runs"], 3);
    assert!(v["tokens"].as_u64().unwrap() >= 6, "{v}");
    let (min, median) = (
        v["explain_ms_min"].as_f64().unwrap(),
        v["explain_ms_median"].as_f64().unwrap(),
    );
    assert!(min > 0.0 && min <= median, "{v}");
    assert!(v["delta"].as_f64().unwrap().abs() < 1e-2, "{v}");
    assert_eq!(v["live"], false);
    // On the weights as a run holds them: the same explanation.
    let live = succeed(tunebench().args([
        "bench-explain",
        "--checkpoint",
        m,
        "--text",
        "the movie was great",
        "--runs",
        "1",
        "--steps",
        "8",
        "--live",
    ]));
    let l: serde_json::Value = serde_json::from_str(live.trim()).unwrap();
    assert_eq!(l["live"], true);
    assert_eq!(l["tokens"], v["tokens"]);
    let gap = (l["delta"].as_f64().unwrap() - v["delta"].as_f64().unwrap()).abs();
    assert!(gap < 1e-6, "{l} vs {v}");
    bad_input(
        &["bench-explain", "--checkpoint", m, "--runs", "0"],
        &["runs"],
    );
    bad_input(
        &["bench-explain", "--checkpoint", m, "--steps", "0"],
        &["steps"],
    );
}

/// TUNEBENCH_RUNS_DIR moves the default runs directory for every command:
/// a `train` without --out writes there, and `runs` started from another
/// directory lists it.
#[test]
fn runs_dir_comes_from_the_environment() {
    let d = tempfile::tempdir().unwrap();
    let runs = d.path().join("my-runs");
    let elsewhere = d.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let data = std::env::current_dir()
        .unwrap()
        .join("sample-data/reviews/train.csv");
    succeed(
        tunebench()
            .current_dir(&elsewhere)
            .env("TUNEBENCH_RUNS_DIR", &runs)
            .args(["train", "--data", data.to_str().unwrap()])
            .args(["--model", "scratch:tiny", "--max-steps", "2"]),
    );
    let made: Vec<_> = std::fs::read_dir(&runs).unwrap().flatten().collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0].path().join("config.toml").is_file());
    assert!(!elsewhere.join("runs").exists());
    let listed = succeed(
        tunebench()
            .current_dir(&elsewhere)
            .env("TUNEBENCH_RUNS_DIR", &runs)
            .args(["runs", "--json"]),
    );
    let name = made[0].file_name().to_string_lossy().into_owned();
    assert!(listed.contains(&name), "{listed}");
    // Set but empty means unset, for every command alike.
    let listed = succeed(
        tunebench()
            .current_dir(&elsewhere)
            .env("TUNEBENCH_RUNS_DIR", "")
            .arg("runs"),
    );
    assert!(listed.contains("no runs in runs"), "{listed}");
}

/// Ctrl-C in a foreground `train` stops the run with a checkpoint and exits
/// 130 (interrupted), so a script's `train && export` does not go on.
#[test]
fn ctrl_c_stops_a_foreground_run_with_a_checkpoint_and_exit_130() {
    use std::io::BufRead;
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let data = std::env::current_dir()
        .unwrap()
        .join("sample-data/reviews/train.csv");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tunebench"))
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("TUNEBENCH_RUNS_DIR")
        .args(["train", "--data", data.to_str().unwrap()])
        .args([
            "--model",
            "scratch:tiny",
            "--epochs",
            "200",
            "--set",
            "log_every=1",
        ])
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait for the first step, then interrupt.
    let first = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("step "));
    assert!(first.is_some(), "no step line");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("finished (Stopped)")),
        "{rest:?}"
    );
    let checkpoints: Vec<_> = std::fs::read_dir(out.join("checkpoints"))
        .unwrap()
        .flatten()
        .collect();
    assert!(!checkpoints.is_empty(), "a checkpoint was written");
    let listed = succeed(
        tunebench()
            .args(["runs", "--json", "--runs-dir"])
            .arg(d.path()),
    );
    assert!(listed.contains("stopped"), "{listed}");
}

/// A run is named as `tunebench runs` lists it — by name, by directory,
/// with @best, @latest or @step-N — by every command that reads a model or
/// a run, and each form scores as the checkpoint directory it resolves to.
#[test]
fn runs_are_named_the_same_way_by_every_command() {
    let d = tempfile::tempdir().unwrap();
    let runs = d.path().join("runs");
    let run = runs.join("demo");
    let (train, heldout) = tickets();
    let train = train.to_str().unwrap().to_string();
    succeed(
        tunebench()
            .args(["train", "--data", &train, "--model", "scratch:tiny"])
            .args([
                "--out",
                run.to_str().unwrap(),
                "--max-steps",
                "4",
                "--set",
                "eval_every=2",
                "--set",
                "max_len=32",
            ]),
    );
    let runs_env = runs.to_str().unwrap();
    let predict = |checkpoint: &str| {
        let out = tunebench()
            .env("TUNEBENCH_RUNS_DIR", runs_env)
            .args(["predict", "--checkpoint", checkpoint, "--format", "jsonl"])
            .args(["the invoice was charged twice", "my parcel never arrived"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{checkpoint}: {err}");
        (String::from_utf8_lossy(&out.stdout).into_owned(), err)
    };
    let at = |p: &Path| p.to_str().unwrap().to_string();
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("best/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["tunebench_input"], "single_texts");
    let (best, quiet) = predict(&at(&run.join("best")));
    assert!(
        quiet.is_empty(),
        "a model directory resolves silently: {quiet}"
    );
    for (reference, dir) in [
        ("demo", run.join("best")),
        ("demo@best", run.join("best")),
        (run.to_str().unwrap(), run.join("best")),
        ("demo@latest", run.join("checkpoints/step-4")),
        ("demo@step-2", run.join("checkpoints/step-2")),
    ] {
        let (by_name, said) = predict(reference);
        let (by_dir, _) = predict(&at(&dir));
        assert_eq!(by_name, by_dir, "{reference}");
        assert!(
            said.contains(&format!("{reference} → {}", dir.display())),
            "{reference}: {said}"
        );
    }
    assert_eq!(predict("demo").0, best);
    // eval, export and attach take the same names.
    succeed(
        tunebench()
            .env("TUNEBENCH_RUNS_DIR", runs_env)
            .args(["eval", "--checkpoint", "demo@latest", "--data"])
            .arg(&heldout),
    );
    let exported = d.path().join("exported");
    succeed(
        tunebench()
            .env("TUNEBENCH_RUNS_DIR", runs_env)
            .args(["export", "--checkpoint", "demo", "--out"])
            .arg(&exported),
    );
    assert_eq!(predict(&at(&exported)).0, best);
    let replay = succeed(
        tunebench()
            .env("TUNEBENCH_RUNS_DIR", runs_env)
            .args(["attach", "--plain", "demo"]),
    );
    assert!(replay.contains("step 4/4"), "{replay}");
    // stop, pause and resume find the run by name (it is over: not live).
    for verb in ["stop", "pause", "resume"] {
        let out = tunebench()
            .env("TUNEBENCH_RUNS_DIR", runs_env)
            .args([verb, "demo"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "demo is finished: it is not running, so there is nothing to {verb}"
            )),
            "{verb}: {err}"
        );
        assert!(!err.contains("os error"), "{verb}: {err}");
    }
    // train --resume by name continues the same run directory.
    let resumed = succeed(tunebench().env("TUNEBENCH_RUNS_DIR", runs_env).args([
        "train",
        "--resume",
        "demo",
        "--max-steps",
        "6",
    ]));
    assert!(
        resumed.contains("resuming at 4") && resumed.contains("step 6/"),
        "{resumed}"
    );
    let latest = predict("demo@latest").1;
    assert!(latest.contains("checkpoints/step-6"), "{latest}");
    let timed = succeed(
        tunebench()
            .env("TUNEBENCH_RUNS_DIR", runs_env)
            .args([
                "bench-explain",
                "--checkpoint",
                "demo",
                "--runs",
                "1",
                "--steps",
                "4",
            ])
            .args(["--text", "the invoice was charged twice"]),
    );
    assert!(timed.contains("explain_ms_median"), "{timed}");
    // Errors that help (exit 2).
    for (reference, needle) in [
        ("dmeo", "did you mean demo?"),
        ("demo@step-3", "it has steps 4, 6"),
        ("demo@soon", "unknown suffix @soon"),
    ] {
        let out = tunebench()
            .env("TUNEBENCH_RUNS_DIR", runs_env)
            .args(["predict", "--checkpoint", reference, "hello"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{reference}: {err}");
        assert!(err.contains(needle), "{reference}: {err}");
    }
}
