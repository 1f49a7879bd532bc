//! The engine end to end: learning, resume, NaN handling, commands.

mod common;

use candle_core::Device;
use common::*;
use tunebench::predict::{evaluate, Predictor};
use tunebench::protocol::{Command, Event, FinishReason};
use tunebench::train;

fn step_losses(events: &[Event]) -> Vec<(usize, f64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Step { step, loss, .. } => Some((*step, *loss)),
            _ => None,
        })
        .collect()
}

#[test]
fn scratch_mini_beats_majority_class_on_heldout_file() {
    let out = tempfile::tempdir().unwrap();
    let (_, heldout) = tickets();
    let (train_file, _) = tickets();
    let cfg = tunebench::config::RunConfig {
        train_file: Some(train_file),
        epochs: 4,
        batch_size: 16,
        lr: Some(1e-3),
        ..quick_config("scratch:mini")
    };
    let trainer = train::prepare(cfg, out.path()).unwrap();
    let events = trainer.run_to_end();
    assert!(
        matches!(
            events.last(),
            Some(Event::Finished {
                reason: FinishReason::Completed,
                ..
            })
        ),
        "{:?}",
        events.last()
    );

    let p = Predictor::load(&out.path().join("best"), &Device::Cpu).unwrap();
    let ds = tunebench::data::load_file(
        &heldout,
        &tunebench::data::LoadOptions {
            require_label: true,
            ..Default::default()
        },
    )
    .unwrap();
    let ids: Vec<u32> = p
        .model
        .labels
        .ids_of(&ds)
        .unwrap()
        .into_iter()
        .map(|i| i as u32)
        .collect();
    let texts: Vec<&str> = ds.rows.iter().map(|r| r.text.as_str()).collect();
    let out_eval = evaluate(
        &p.model,
        p.text.pad_id(),
        &p.text.encode_all(&texts).unwrap(),
        &tunebench::data::Targets::Classes(ids.clone()),
    )
    .unwrap();
    let acc = out_eval
        .logits
        .iter()
        .map(|l| tunebench::model::probs::argmax(l))
        .zip(&ids)
        .filter(|(a, b)| *a == **b as usize)
        .count() as f64
        / ids.len() as f64;
    let mut counts = std::collections::HashMap::new();
    for i in &ids {
        *counts.entry(i).or_insert(0) += 1;
    }
    let majority = *counts.values().max().unwrap() as f64 / ids.len() as f64;
    assert!(
        acc > majority + 0.3,
        "held-out accuracy {acc} vs majority {majority}"
    );
}

/// A Chinese corpus (CLUE-style `label<TAB>text_a`, the bundled sample)
/// trains a scratch model, whose vocabulary splits ideographs into
/// characters, well above the majority class on its held-out file.
#[test]
fn a_scratch_model_learns_the_chinese_sample() {
    let out = tempfile::tempdir().unwrap();
    let dir = common::root().join("sample-data/chinese");
    let cfg = tunebench::config::RunConfig {
        train_file: Some(dir.join("train.tsv")),
        val_file: Some(dir.join("heldout.tsv")),
        epochs: 6,
        batch_size: 16,
        max_len: 48,
        lr: Some(1e-3),
        ..quick_config("scratch:tiny")
    };
    let events = train::prepare(cfg, out.path()).unwrap().run_to_end();
    let accuracy = events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Eval { accuracy, .. } => Some(*accuracy),
            _ => None,
        })
        .expect("an evaluation");
    // Three balanced labels (30 rows each): the majority scores 1/3.
    assert!(accuracy > 0.6, "held-out accuracy {accuracy}");
}

#[test]
fn resumed_run_continues_with_the_same_losses() {
    resume_matches_an_uninterrupted_run(tunebench::config::RunConfig {
        epochs: 2,
        ..quick_config("scratch:tiny")
    });
}

#[test]
fn resumed_frozen_run_continues_with_the_same_losses() {
    resume_matches_an_uninterrupted_run(tunebench::config::RunConfig {
        epochs: 2,
        freeze: tunebench::config::Freeze::Layers(1),
        ..quick_config("scratch:tiny")
    });
}

/// Returns the two run directories (uninterrupted, resumed).
fn resume_matches_an_uninterrupted_run(
    cfg: tunebench::config::RunConfig,
) -> (tempfile::TempDir, tempfile::TempDir) {
    let full_dir = tempfile::tempdir().unwrap();
    let full = step_losses(
        &train::prepare(cfg.clone(), full_dir.path())
            .unwrap()
            .run_to_end(),
    );
    assert!(full.len() >= 60, "{}", full.len());

    // Stop a second run part-way through, then resume it.
    let part_dir = tempfile::tempdir().unwrap();
    let handle = train::spawn(train::prepare(cfg.clone(), part_dir.path()).unwrap());
    let mut stopped_at = None;
    let mut before = Vec::new();
    for e in handle.events.iter() {
        if let Event::Step { step, loss, .. } = e {
            before.push((step, loss));
        }
        if let Event::Step { step: 17, .. } = e {
            handle.commands.send(Command::Stop { save: true }).unwrap();
        }
        if let Event::Finished { reason, step, .. } = e {
            assert_eq!(reason, FinishReason::Stopped);
            stopped_at = Some(step);
        }
    }
    handle.thread.join().unwrap();
    let stopped_at = stopped_at.expect("the run reported its stop");
    // Same seed, same run: bit-for-bit the same losses up to the stop.
    assert_eq!(
        &before[..],
        &full[..stopped_at],
        "seeded runs are deterministic"
    );
    assert!(stopped_at >= 17 && stopped_at < full.len());

    let resumed = train::prepare::resume(part_dir.path(), |_| Ok(())).unwrap();
    assert_eq!(resumed.state.step, stopped_at);
    let rest = step_losses(&resumed.run_to_end());
    assert_eq!(rest.first().map(|s| s.0), Some(stopped_at + 1));
    assert_eq!(rest.len(), full.len() - stopped_at);
    for ((s, a), (_, b)) in rest.iter().zip(&full[stopped_at..]) {
        assert!(
            (a - b).abs() < 1e-5,
            "step {s}: resumed loss {a} vs uninterrupted {b}"
        );
    }

    // The curve history in metrics.jsonl has every step exactly once.
    let log = std::fs::read_to_string(part_dir.path().join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "step")
        .map(|v| v["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=full.len() as u64).collect::<Vec<_>>());
    (full_dir, part_dir)
}

#[test]
fn nan_loss_fails_the_run_with_a_clear_message() {
    // A checkpoint with a NaN in an encoder weight makes the first loss NaN.
    let model = copy_dir(&fixture("bert").join("model"));
    let path = model.path().join("model.safetensors");
    let mut tensors = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    let w = &tensors["bert.embeddings.LayerNorm.weight"];
    let nan = (w * f64::NAN).unwrap();
    tensors.insert("bert.embeddings.LayerNorm.weight".into(), nan);
    candle_core::safetensors::save(&tensors, &path).unwrap();

    let out = tempfile::tempdir().unwrap();
    let cfg = quick_config(model.path().to_str().unwrap());
    let events = train::prepare(cfg, out.path()).unwrap().run_to_end();
    match events.last() {
        Some(Event::Failed { error, step }) => {
            assert!(error.contains("loss became NaN at step 1"), "{error}");
            assert_eq!(*step, 0);
        }
        other => panic!("expected a Failed event, got {other:?}"),
    }
    assert!(
        !out.path().join("best").exists(),
        "no checkpoint from NaN weights"
    );
}

#[test]
fn pause_predict_resume_and_checkpoint_commands_work_mid_run() {
    let out = tempfile::tempdir().unwrap();
    let handle = train::spawn(train::prepare(quick_config("scratch:tiny"), out.path()).unwrap());
    let mut seen_pause = false;
    let mut prediction = None;
    let mut checkpoint = false;
    for e in handle.events.iter() {
        match e {
            Event::Step { step: 2, .. } => {
                handle.commands.send(Command::Pause).unwrap();
                handle
                    .commands
                    .send(Command::Predict {
                        id: 41,
                        text: "The kettle is superb".into(),
                        text_pair: None,
                        explain: None,
                    })
                    .unwrap();
                handle.commands.send(Command::SaveCheckpoint).unwrap();
                handle.commands.send(Command::Resume).unwrap();
            }
            Event::Paused { .. } => seen_pause = true,
            Event::Prediction {
                id, prediction: p, ..
            } => prediction = Some((id, p)),
            // Evaluation checkpoints are "best" here; the manual one is not.
            Event::Checkpoint { best: false, .. } => checkpoint = true,
            _ => {}
        }
    }
    handle.thread.join().unwrap();
    assert!(seen_pause && checkpoint);
    let (id, p) = prediction.expect("a prediction event");
    assert_eq!(id, 41);
    let total: f32 = p.probs.iter().map(|(_, x)| x).sum();
    assert!((total - 1.0).abs() < 1e-4);
    assert_eq!(p.probs.len(), 3);
}

/// Explaining sentences on the live weights between steps (input
/// gradients, eval mode) leaves the training trajectory as it was: the
/// same losses, bit for bit, as a run nobody asked anything.
#[test]
fn explanations_between_steps_do_not_change_training() {
    let losses = |explain: bool| {
        let out = tempfile::tempdir().unwrap();
        let cfg = tunebench::config::RunConfig {
            max_steps: 6,
            ..quick_config("scratch:tiny")
        };
        let handle = train::spawn(train::prepare(cfg, out.path()).unwrap());
        let (mut losses, mut explained) = (Vec::new(), 0);
        for e in handle.events.iter() {
            match e {
                Event::Step { step, loss, .. } => {
                    losses.push(loss);
                    if explain && step < 5 {
                        handle
                            .commands
                            .send(Command::Predict {
                                id: step as u64,
                                text: "The kettle is superb but loud".into(),
                                text_pair: None,
                                explain: Some(tunebench::protocol::ExplainRequest {
                                    target: None,
                                    steps: 8,
                                }),
                            })
                            .unwrap();
                    }
                }
                Event::Prediction { prediction, .. } => {
                    let e = prediction.explanation.expect("an explanation");
                    assert!(e.delta.abs() < 0.05, "delta {}", e.delta);
                    explained += 1;
                }
                _ => {}
            }
        }
        handle.thread.join().unwrap();
        (losses, explained)
    };
    let (plain, _) = losses(false);
    let (asked, explained) = losses(true);
    assert!(explained >= 3, "explanations answered mid-run: {explained}");
    assert_eq!(plain, asked);
}

#[test]
fn gradient_accumulation_equals_one_big_batch() {
    let weights = |batch_size: usize, grad_accum: usize| {
        let out = tempfile::tempdir().unwrap();
        let cfg = tunebench::config::RunConfig {
            batch_size,
            grad_accum,
            max_steps: 1,
            dropout: Some(0.0),
            warmup_ratio: 0.0,
            ..quick_config("scratch:tiny")
        };
        let t = train::prepare(cfg, out.path()).unwrap();
        let events = t.run_to_end();
        assert!(matches!(events.last(), Some(Event::Finished { .. })));
        let p = Predictor::load(&out.path().join("checkpoints/step-1"), &Device::Cpu).unwrap();
        p.model.named_tensors().unwrap()
    };
    let one = weights(16, 1);
    let two = weights(8, 2);
    for ((name, a), (_, b)) in one.iter().zip(&two) {
        let d = max_abs_diff(a, b);
        assert!(d < 1e-6, "{name} differs by {d}");
    }
}

#[test]
fn early_stopping_ends_the_run_after_patience_evals_without_improvement() {
    let out = tempfile::tempdir().unwrap();
    let cfg = tunebench::config::RunConfig {
        lr: Some(1e-12),
        eval_every: 2,
        patience: 2,
        best_metric: Some(tunebench::config::BestMetric::Loss),
        dropout: Some(0.0),
        ..quick_config("scratch:tiny")
    };
    let events = train::prepare(cfg, out.path()).unwrap().run_to_end();
    let evals = events
        .iter()
        .filter(|e| matches!(e, Event::Eval { .. }))
        .count();
    match events.last() {
        Some(Event::Finished {
            reason: FinishReason::EarlyStopped,
            step,
            best_step,
            ..
        }) => {
            assert_eq!(
                (*step, evals),
                (6, 3),
                "best at the first eval, then two without improvement"
            );
            assert_eq!(*best_step, Some(2));
        }
        other => panic!("expected early stopping, got {other:?}"),
    }
}

/// `eval_only_at_end`: a run of several epochs evaluates and checkpoints
/// once, at its end (a labelling round); eval_every and patience say they
/// do nothing beside it.
#[test]
fn a_run_evaluated_only_at_its_end_writes_one_evaluation_and_one_checkpoint() {
    let out = tempfile::tempdir().unwrap();
    let cfg = tunebench::config::RunConfig {
        epochs: 3,
        eval_only_at_end: true,
        ..quick_config("scratch:tiny")
    };
    let events = train::prepare(cfg.clone(), out.path())
        .unwrap()
        .run_to_end();
    let count = |f: fn(&Event) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, Event::Eval { .. })), 1);
    assert_eq!(count(|e| matches!(e, Event::Checkpoint { .. })), 1);
    let last_step = events
        .iter()
        .filter_map(|e| match e {
            Event::Step { step, .. } => Some(*step),
            _ => None,
        })
        .max();
    let eval_step = events.iter().find_map(|e| match e {
        Event::Eval { step, .. } => Some(*step),
        _ => None,
    });
    assert_eq!(eval_step, last_step, "at the end");
    let every_epoch = train::prepare(
        tunebench::config::RunConfig {
            eval_only_at_end: false,
            ..cfg.clone()
        },
        &out.path().join("b"),
    )
    .unwrap()
    .run_to_end();
    let evals = every_epoch
        .iter()
        .filter(|e| matches!(e, Event::Eval { .. }))
        .count();
    assert_eq!(evals, 3, "the default: one a epoch");
    let inert = tunebench::config::RunConfig {
        eval_every: 5,
        patience: 2,
        ..cfg
    }
    .inert_settings(None);
    assert_eq!(
        inert,
        vec![
            ("eval_every", "eval_only_at_end = true".to_string()),
            ("patience", "eval_only_at_end = true".to_string())
        ]
    );
}

/// bf16 training on the CPU is refused (f32 is faster there), naming the
/// field and what to do instead.
#[test]
fn bf16_training_on_the_cpu_is_refused_for_f32() {
    let out = tempfile::tempdir().unwrap();
    let cfg = tunebench::config::RunConfig {
        precision: tunebench::config::Precision::Bf16,
        ..quick_config("scratch:tiny")
    };
    let err = train::prepare(cfg, out.path()).err().unwrap().to_string();
    assert!(
        err.contains("precision") && err.contains("train in f32"),
        "{err}"
    );
}

/// Mixed precision: f16 (with loss scaling) runs learn, keep f32 master
/// weights and save f32 checkpoints that transformers can load (bf16 is
/// the same path on a GPU, where scripts/gpu-check.sh runs it).
#[test]
fn f16_runs_learn_and_save_f32_checkpoints() {
    use tunebench::config::Precision;
    {
        let precision = Precision::F16;
        let out = tempfile::tempdir().unwrap();
        let cfg = tunebench::config::RunConfig {
            precision,
            epochs: 2,
            lr: Some(2e-3),
            ..quick_config("scratch:tiny")
        };
        let trainer = train::prepare(cfg, out.path()).unwrap();
        assert!(trainer
            .model
            .params
            .vars
            .iter()
            .all(|(_, v)| v.dtype() == candle_core::DType::F32));
        let events = trainer.run_to_end();
        assert!(
            matches!(events.last(), Some(Event::Finished { .. })),
            "{precision:?}: {:?}",
            events.last()
        );
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Started { precision: p, .. } if p == precision.name()
        )));
        let losses = step_losses(&events);
        let first: f64 = losses.iter().take(3).map(|l| l.1).sum::<f64>() / 3.0;
        let last: f64 = losses.iter().rev().take(3).map(|l| l.1).sum::<f64>() / 3.0;
        assert!(
            losses.iter().all(|l| l.1.is_finite()) && last < first,
            "{precision:?} learns: {first} -> {last}"
        );
        let weights = std::fs::read(out.path().join("best/model.safetensors")).unwrap();
        let st = safetensors::SafeTensors::deserialize(&weights).unwrap();
        assert!(st
            .tensors()
            .iter()
            .all(|(_, t)| t.dtype() == safetensors::Dtype::F32));
        let p = Predictor::load(&out.path().join("best"), &Device::Cpu)
            .unwrap()
            .with_precision(precision)
            .unwrap();
        let pred = p.predict(&["great tent, light and dry"]).unwrap();
        let total: f32 = pred[0].probs.iter().map(|(_, x)| x).sum();
        assert!((total - 1.0).abs() < 1e-3, "{:?}", pred[0]);
    }
}

#[test]
fn frozen_weights_stay_bit_identical_and_get_no_optimizer_state() {
    use tunebench::config::{Freeze, RunConfig};
    let out = tempfile::tempdir().unwrap();
    let cfg = RunConfig {
        freeze: Freeze::Layers(1),
        max_steps: 3,
        ..quick_config("scratch:tiny")
    };
    let trainer = train::prepare(cfg, out.path()).unwrap();
    let host = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let frozen_before: Vec<(String, Vec<f32>)> = trainer
        .model
        .params
        .frozen
        .iter()
        .map(|(n, t)| (n.clone(), host(t)))
        .collect();
    let trainable_before: Vec<(String, Vec<f32>)> = trainer
        .model
        .params
        .vars
        .iter()
        .map(|(n, v)| (n.clone(), host(v.as_tensor())))
        .collect();
    let names = |v: &[(String, Vec<f32>)]| v.iter().map(|p| p.0.clone()).collect::<Vec<_>>();
    assert!(names(&frozen_before)
        .iter()
        .all(|n| n.contains(".embeddings.") || n.contains(".layer.0.")));
    assert!(names(&trainable_before)
        .iter()
        .any(|n| n.contains(".layer.1.")));
    assert!(names(&trainable_before)
        .iter()
        .any(|n| n.starts_with("classifier.")));
    let (frozen_n, trainable_n) = (
        trainer.model.params.total() - trainer.model.params.count(),
        trainer.model.params.count(),
    );
    let events = trainer.run_to_end();
    assert!(events.iter().any(|e| matches!(e,
        Event::Started { params, trainable, .. } if *params == frozen_n + trainable_n && *trainable == trainable_n)));

    let ckpt = out.path().join("checkpoints/step-3");
    let weights =
        candle_core::safetensors::load(ckpt.join("model.safetensors"), &Device::Cpu).unwrap();
    for (name, before) in &frozen_before {
        assert_eq!(&host(&weights[name]), before, "{name} changed");
    }
    let changed = trainable_before
        .iter()
        .filter(|(name, before)| &host(&weights[name]) != before)
        .count();
    assert_eq!(
        changed,
        trainable_before.len(),
        "every trainable tensor moved"
    );
    let state =
        candle_core::safetensors::load(ckpt.join("training_state.safetensors"), &Device::Cpu)
            .unwrap();
    assert_eq!(
        state.len(),
        2 * trainable_before.len(),
        "AdamW moments per trainable tensor"
    );
    for (name, _) in &frozen_before {
        assert!(
            !state.contains_key(&format!("exp_avg.{name}")),
            "{name} has optimizer state"
        );
    }
}

#[test]
fn default_settings_learn_the_bundled_reviews() {
    // Every default (scratch:mini, 3 epochs, lr chosen by the model).
    let out = tempfile::tempdir().unwrap();
    let (train_file, heldout) = reviews();
    let cfg = tunebench::config::RunConfig {
        train_file: Some(train_file),
        val_file: Some(heldout),
        ..Default::default()
    };
    let events = train::prepare(cfg, out.path()).unwrap().run_to_end();
    let first_log = events.iter().find_map(|e| match e {
        Event::Log { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(
        first_log
            .as_deref()
            .is_some_and(|m| m.starts_with("lr not set: 1e-3")),
        "{first_log:?}"
    );
    let accuracy = events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Eval { accuracy, .. } => Some(*accuracy),
            _ => None,
        })
        .unwrap();
    // Three balanced classes: the majority class scores about 1/3.
    assert!(accuracy > 0.8, "held-out accuracy {accuracy}");
}

fn lora_config() -> tunebench::config::RunConfig {
    tunebench::config::RunConfig {
        peft: tunebench::config::Peft::Lora,
        lora_r: 4,
        epochs: 2,
        ..quick_config(fixture("bert").join("model").to_str().unwrap())
    }
}

#[test]
fn lora_trains_adapters_and_head_only_and_its_merged_checkpoint_gives_the_same_logits() {
    adapters_train_alone_and_merge(lora_config(), "LORA");
}

#[test]
fn dora_trains_adapters_and_magnitudes_only_and_merges() {
    adapters_train_alone_and_merge(
        tunebench::config::RunConfig {
            peft: tunebench::config::Peft::Dora,
            ..lora_config()
        },
        "LORA",
    );
}

#[test]
fn adalora_trains_its_triplets_and_head_only_and_merges() {
    adapters_train_alone_and_merge(adalora_config(), "ADALORA");
}

fn adalora_config() -> tunebench::config::RunConfig {
    tunebench::config::RunConfig {
        peft: tunebench::config::Peft::Adalora,
        adalora_init_r: 4,
        adalora_target_r: 2,
        ..lora_config()
    }
}

/// The allocator runs inside the engine: after a run the adapter keeps
/// target_r ranks per module on average (peft's silent failure is an
/// allocator never called, which keeps init_r everywhere), the saved
/// tensors are cut to the saved rank_pattern, and the checkpoint's merged
/// weights score as the adapters do.
#[test]
fn an_adalora_run_cuts_its_ranks_to_the_target_budget() {
    use tunebench::config::RunConfig;
    let out = tempfile::tempdir().unwrap();
    let cfg = RunConfig {
        adalora_tinit: 2,
        adalora_tfinal: 2,
        ..adalora_config()
    };
    let events = train::prepare(cfg, out.path()).unwrap().run_to_end();
    let total = events
        .iter()
        .filter(|e| matches!(e, Event::Step { .. }))
        .count();
    assert!(total > 6, "{total} steps");
    let ckpt = std::fs::read_dir(out.path().join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| {
            p.file_name().unwrap().to_str().unwrap()[5..]
                .parse::<usize>()
                .unwrap()
        })
        .unwrap();
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("adapter_config.json")).unwrap())
            .unwrap();
    assert_eq!(config["peft_type"], "ADALORA");
    assert_eq!(config["total_step"], total);
    let pattern = config["rank_pattern"].as_object().expect("a rank pattern");
    // query and value in 2 layers: 4 modules, init 4 each, target 2 each.
    assert_eq!(pattern.len(), 4);
    let kept: Vec<usize> = pattern
        .values()
        .map(|v| {
            v.as_array()
                .unwrap()
                .iter()
                .filter(|b| b.as_bool().unwrap())
                .count()
        })
        .collect();
    assert_eq!(kept.iter().sum::<usize>(), 8, "ranks kept {kept:?}");
    let adapter =
        candle_core::safetensors::load(ckpt.join("adapter_model.safetensors"), &Device::Cpu)
            .unwrap();
    for (key, keep) in pattern {
        let module = key.strip_suffix(".lora_E").unwrap();
        let r = keep
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b.as_bool().unwrap())
            .count();
        let e = &adapter[&format!("base_model.model.{module}.lora_E")];
        let a = &adapter[&format!("base_model.model.{module}.lora_A")];
        let b = &adapter[&format!("base_model.model.{module}.lora_B")];
        assert_eq!(
            (e.dims()[0], a.dims()[0], b.dims()[1]),
            (r, r, r),
            "{module}"
        );
    }
    // The cut adapter on its base scores as the merged checkpoint does.
    let merged = Predictor::load(&ckpt, &Device::Cpu).unwrap();
    let (model, text) =
        tunebench::model::peft::build(&ckpt, Some(&fixture("bert").join("model")), &Device::Cpu)
            .unwrap();
    let ids = merged
        .text
        .encode_all(&["The tent is superb", "It is fine"])
        .unwrap();
    let a = tunebench::predict::logits_for(&merged.model, merged.text.pad_id(), &ids).unwrap();
    let b = tunebench::predict::logits_for(&model, text.pad_id(), &ids).unwrap();
    for (ra, rb) in a.iter().zip(&b) {
        for (x, y) in ra.iter().zip(rb) {
            assert!((x - y).abs() < 1e-5, "merged {ra:?} vs cut adapters {rb:?}");
        }
    }
}

/// Prefix tuning (with the MLP): only the prompt encoder and the head
/// train; its checkpoint is the adapter (projected table) on its base.
#[test]
fn prefix_tuning_trains_its_prompt_encoder_and_head_only() {
    adapters_train_alone_and_merge(prefix_config(), "PREFIX_TUNING");
}

fn prefix_config() -> tunebench::config::RunConfig {
    tunebench::config::RunConfig {
        peft: tunebench::config::Peft::Prefix,
        prefix_tokens: 4,
        prefix_projection: 8,
        ..lora_config()
    }
}

#[test]
fn resumed_prefix_run_continues_with_the_same_losses() {
    resume_matches_an_uninterrupted_run(prefix_config());
}

#[test]
fn ia3_trains_its_vectors_and_head_only_and_merges() {
    adapters_train_alone_and_merge(ia3_config(), "IA3");
}

fn ia3_config() -> tunebench::config::RunConfig {
    tunebench::config::RunConfig {
        peft: tunebench::config::Peft::Ia3,
        ..lora_config()
    }
}

/// An adapter run trains its adapters, the head and the pooler only (no
/// optimizer state for anything else), leaves the base bit-identical,
/// saves peft's layout, and its merged checkpoint scores as the adapters do.
fn adapters_train_alone_and_merge(cfg: tunebench::config::RunConfig, peft_type: &str) {
    use tunebench::config::{Peft, RunConfig};
    let kind = cfg.peft;
    let out = tempfile::tempdir().unwrap();
    let cfg = RunConfig {
        max_steps: 3,
        ..cfg
    };
    let trainer = train::prepare(cfg, out.path()).unwrap();
    let params = &trainer.model.params;
    let trainable: Vec<String> = params.vars.iter().map(|(n, _)| n.clone()).collect();
    assert!(trainable
        .iter()
        .all(|n| tunebench::model::peft::is_adapter_tensor(n)
            || n.starts_with("classifier.")
            || n.starts_with("bert.pooler.")));
    let has = |suffix: &str| trainable.iter().any(|n| n.ends_with(suffix));
    match kind {
        Peft::Lora | Peft::Dora => {
            assert!(has("attention.self.query.lora_A.weight"));
            assert!(has("attention.self.value.lora_B.weight"));
            assert!(!trainable.iter().any(|n| n.contains(".key.lora_")));
            assert_eq!(
                has("attention.self.query.lora_magnitude_vector"),
                kind == Peft::Dora
            );
        }
        Peft::Prefix => {
            assert!(has("prompt_encoder.embedding.weight"));
            assert!(has("prompt_encoder.transform.2.weight"));
        }
        Peft::Adalora => {
            assert!(has("attention.self.query.lora_A") && has("attention.self.query.lora_E"));
            assert!(has("attention.self.value.lora_B"));
        }
        _ => {
            assert!(has("attention.self.key.ia3_l") && has("layer.1.output.dense.ia3_l"));
            assert!(!has("attention.self.query.ia3_l"));
        }
    }
    let host = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let base_before: Vec<(String, Vec<f32>)> = params
        .frozen
        .iter()
        .map(|(n, t)| (n.clone(), host(t)))
        .collect();
    let adapters_before: Vec<(String, Vec<f32>)> = params
        .vars
        .iter()
        .filter(|(n, _)| tunebench::model::peft::is_adapter_tensor(n))
        .map(|(n, v)| (n.clone(), host(v.as_tensor())))
        .collect();
    let events = trainer.run_to_end();
    assert!(
        matches!(events.last(), Some(Event::Finished { .. })),
        "{:?}",
        events.last()
    );

    // The adapter is peft's layout; the base weights did not move.
    let ckpt = out.path().join("checkpoints/step-3");
    let adapter =
        candle_core::safetensors::load(ckpt.join("adapter_model.safetensors"), &Device::Cpu)
            .unwrap();
    // peft names prompt-learning models `base_model.`, the others
    // `base_model.model.`.
    let root = if kind == Peft::Prefix {
        "base_model."
    } else {
        "base_model.model."
    };
    assert!(
        adapter
            .keys()
            .all(|k| k.starts_with(root) || k == "prompt_embeddings"),
        "{:?}",
        adapter.keys()
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("adapter_config.json")).unwrap())
            .unwrap();
    assert_eq!(config["peft_type"], peft_type);
    if peft_type == "LORA" {
        assert_eq!(config["r"], 4);
        assert_eq!(config["use_dora"], kind == Peft::Dora);
    } else if peft_type == "ADALORA" {
        assert_eq!(config["total_step"], 3);
    } else if peft_type == "PREFIX_TUNING" {
        assert_eq!(config["num_virtual_tokens"], 4);
        assert!(adapter.contains_key("prompt_embeddings"));
        assert!(
            !ckpt.join("model.safetensors").exists(),
            "a prefix does not merge"
        );
    } else {
        assert_eq!(
            config["feedforward_modules"],
            serde_json::json!(["output.dense"])
        );
    }
    let state =
        candle_core::safetensors::load(ckpt.join("training_state.safetensors"), &Device::Cpu)
            .unwrap();
    assert_eq!(
        state.keys().filter(|k| k.starts_with("exp_avg")).count(),
        2 * trainable.len(),
        "AdamW moments for trainable tensors only"
    );

    // The merged plain checkpoint and the base + adapter agree.
    let resumed = train::prepare::resume(out.path(), |_| Ok(())).unwrap();
    for (name, before) in &base_before {
        let now = resumed
            .model
            .params
            .frozen
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| host(t))
            .unwrap();
        assert_eq!(&now, before, "{name} changed");
    }
    // Every adapter tensor trained (LoRA's A moves once B has).
    for (name, before) in &adapters_before {
        let now = host(resumed.model.params.get(name).unwrap().as_tensor());
        assert_ne!(&now, before, "{name} did not train");
    }
    let merged = Predictor::load(&ckpt, &Device::Cpu).unwrap();
    let texts = [
        "The tent is superb",
        "Awful blender, broke at once",
        "It is fine",
    ];
    let ids = merged.text.encode_all(&texts).unwrap();
    let a = tunebench::predict::logits_for(&merged.model, merged.text.pad_id(), &ids).unwrap();
    let b = tunebench::predict::logits_for(&resumed.model, resumed.text.pad_id(), &ids).unwrap();
    for (ra, rb) in a.iter().zip(&b) {
        for (x, y) in ra.iter().zip(rb) {
            assert!((x - y).abs() < 1e-5, "merged {ra:?} vs adapters {rb:?}");
        }
    }
}

#[test]
fn resumed_lora_run_continues_with_the_same_losses() {
    resume_matches_an_uninterrupted_run(lora_config());
}

#[test]
fn resumed_dora_run_continues_with_the_same_losses() {
    resume_matches_an_uninterrupted_run(tunebench::config::RunConfig {
        peft: tunebench::config::Peft::Dora,
        ..lora_config()
    });
}

/// Resuming restores the allocator's EMAs, the uncut triplets and the
/// rank pattern: the same losses as a run never stopped.
#[test]
fn resumed_adalora_run_continues_with_the_same_losses() {
    // The run stops at step 17; the ranks are fixed at step 19, so the
    // pattern leans on importance gathered before the stop.
    let probe = tempfile::tempdir().unwrap();
    let total = train::prepare(adalora_config(), probe.path())
        .unwrap()
        .total_steps();
    let (full, resumed) = resume_matches_an_uninterrupted_run(tunebench::config::RunConfig {
        adalora_tinit: 5,
        adalora_tfinal: total - 19,
        ..adalora_config()
    });
    // The masks after the resume depend on the importance EMAs before it:
    // the final rank pattern and adapters are the uninterrupted run's.
    let last = |dir: &std::path::Path| {
        let ckpt = dir.join("best");
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(ckpt.join("adapter_config.json")).unwrap(),
        )
        .unwrap();
        let trainer: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(ckpt.join("trainer_state.json")).unwrap(),
        )
        .unwrap();
        (config["rank_pattern"].clone(), trainer["step"].clone())
    };
    let (a, b) = (last(full.path()), last(resumed.path()));
    assert!(a.0.as_object().is_some_and(|m| !m.is_empty()), "{a:?}");
    assert_eq!(a, b);
}

/// A resumed AdaLoRA trainer holds the importance EMAs and the rank
/// pattern its checkpoint saved.
#[test]
fn a_resumed_adalora_trainer_restores_its_allocator() {
    use tunebench::model::peft::PeftSpec;
    let out = tempfile::tempdir().unwrap();
    // 6 steps, checkpoints at 3 and 6; masks from step 2, ranks fixed at 5.
    let cfg = tunebench::config::RunConfig {
        max_steps: 6,
        eval_every: 3,
        adalora_tinit: 1,
        adalora_tfinal: 1,
        ..adalora_config()
    };
    let events = train::prepare(cfg, out.path()).unwrap().run_to_end();
    assert!(matches!(events.last(), Some(Event::Finished { .. })));
    let pattern_of = |t: &train::Trainer| match &t.model.peft {
        Some((PeftSpec::AdaLora(a), _)) => a.rank_pattern.clone().expect("a pattern"),
        _ => panic!("not AdaLoRA"),
    };
    // From step 6: the final pattern; the EMAs were dropped at step 5.
    let resumed = train::prepare::resume(out.path(), |_| Ok(())).unwrap();
    assert_eq!(resumed.state.step, 6);
    let kept = pattern_of(&resumed)
        .values()
        .flatten()
        .filter(|k| **k)
        .count();
    assert_eq!(kept, 8);
    assert!(resumed
        .allocator
        .as_ref()
        .unwrap()
        .state_tensors()
        .is_empty());
    // From step 3 (mid-allocation): the EMAs as saved.
    std::fs::remove_dir_all(out.path().join("checkpoints/step-6")).unwrap();
    let _ = std::fs::remove_dir_all(out.path().join("best"));
    let saved = candle_core::safetensors::load(
        out.path()
            .join("checkpoints/step-3/training_state.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let resumed = train::prepare::resume(out.path(), |_| Ok(())).unwrap();
    assert_eq!(resumed.state.step, 3);
    let kept = pattern_of(&resumed)
        .values()
        .flatten()
        .filter(|k| **k)
        .count();
    assert!(kept > 8 && kept < 16, "step 3 keeps {kept} of 16");
    let state = resumed.allocator.as_ref().unwrap().state_tensors();
    assert_eq!(
        state.len(),
        2 * 3 * 4,
        "ipt and unc of A, E, B in 4 modules"
    );
    for (name, t) in state {
        let want = saved
            .get(&name)
            .unwrap_or_else(|| panic!("{name} not saved"));
        assert_eq!(
            t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            want.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn resumed_ia3_run_continues_with_the_same_losses() {
    resume_matches_an_uninterrupted_run(ia3_config());
}

#[test]
fn predictions_csv_holds_an_evaluation_when_its_event_arrives() {
    // The TUI reloads predictions.csv when it hears of an evaluation: the
    // file must already be that evaluation's, not the one before.
    let out = tempfile::tempdir().unwrap();
    let cfg = tunebench::config::RunConfig {
        epochs: 3,
        ..quick_config("scratch:tiny")
    };
    let handle = train::spawn(train::prepare(cfg, out.path()).unwrap());
    let mut checked = 0;
    for e in handle.events.iter() {
        if let Event::Eval { accuracy, step, .. } = e {
            let mut csv = csv::Reader::from_path(out.path().join("predictions.csv")).unwrap();
            let correct = csv
                .headers()
                .unwrap()
                .iter()
                .position(|h| h == "correct")
                .unwrap();
            let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
            let right = rows.iter().filter(|r| &r[correct] == "true").count();
            assert_eq!(
                right as f64 / rows.len() as f64,
                accuracy,
                "step {step}: predictions.csv is not this evaluation's"
            );
            checked += 1;
        }
    }
    handle.thread.join().unwrap();
    assert_eq!(checked, 3);
}
