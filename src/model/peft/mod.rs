//! Parameter-efficient fine-tuning, as Hugging Face peft implements it:
//! LoRA and DoRA (`lora`), AdaLoRA (`adalora`), (IA)³ (`ia3`), and peft's
//! on-disk layout
//! (`layout`). Each method wraps the encoder's linears; the encoder around
//! them is built frozen.

pub mod adalora;
pub mod ia3;
mod layout;
pub mod lora;
pub mod prefix;

pub use layout::*;

use adalora::AdaLoraSpec;
use candle_core::{Result, Tensor};
use ia3::{Ia3Spec, Ia3Vector};
use lora::{LoraAdapter, LoraSpec};
use prefix::PrefixSpec;

/// Which method a model trains, with its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum PeftSpec {
    /// LoRA, or DoRA when `dora` is set (peft's `use_dora`).
    Lora(LoraSpec),
    AdaLora(AdaLoraSpec),
    Ia3(Ia3Spec),
    /// Prefix tuning: virtual keys and values in every layer, no linear
    /// adapted, nothing to merge.
    Prefix(PrefixSpec),
}

impl PeftSpec {
    /// The method's name in messages.
    pub fn method(&self) -> &'static str {
        match self {
            PeftSpec::Lora(l) if l.dora => "DoRA",
            PeftSpec::Lora(_) => "LoRA",
            PeftSpec::AdaLora(_) => "AdaLoRA",
            PeftSpec::Ia3(_) => "(IA)³",
            PeftSpec::Prefix(_) => "prefix tuning",
        }
    }

    /// The config key that names its target modules.
    pub fn targets_key(&self) -> &'static str {
        match self {
            PeftSpec::Lora(_) | PeftSpec::AdaLora(_) => "lora_targets",
            PeftSpec::Ia3(_) => "ia3_targets",
            PeftSpec::Prefix(_) => "peft",
        }
    }

    pub fn targets(&self) -> &[String] {
        match self {
            PeftSpec::Lora(l) => &l.targets,
            PeftSpec::AdaLora(a) => &a.targets,
            PeftSpec::Ia3(s) => &s.targets,
            PeftSpec::Prefix(_) => &[],
        }
    }

    pub fn targets_module(&self, module: &str) -> bool {
        match self {
            PeftSpec::Lora(l) => l.targets_module(module),
            PeftSpec::AdaLora(a) => a.targets_module(module),
            PeftSpec::Ia3(s) => s.targets_module(module),
            PeftSpec::Prefix(_) => false,
        }
    }

    /// `module`'s merged weight (W plus the method's update), given the
    /// adapter's tensors by name; None when `module` has no adapter.
    pub fn merged_weight(
        &self,
        module: &str,
        weight: &Tensor,
        get: &dyn Fn(&str) -> Option<Tensor>,
    ) -> Result<Option<Tensor>> {
        match self {
            PeftSpec::Lora(spec) => {
                let (Some(a), Some(b)) = (
                    get(&format!("{module}.lora_A.weight")),
                    get(&format!("{module}.lora_B.weight")),
                ) else {
                    return Ok(None);
                };
                let magnitude = get(&format!("{module}.{}", lora::MAGNITUDE));
                lora::merge(weight, &a, &b, spec.scale(), magnitude.as_ref()).map(Some)
            }
            PeftSpec::AdaLora(spec) => {
                let part = |k: &str| get(&format!("{module}.{k}"));
                let (Some(a), Some(b), Some(e)) =
                    (part("lora_A"), part("lora_B"), part(adalora::E))
                else {
                    return Ok(None);
                };
                lora::merge(weight, &a.broadcast_mul(&e)?, &b, spec.scale(), None).map(Some)
            }
            PeftSpec::Ia3(spec) => match get(&format!("{module}.{}", ia3::VECTOR)) {
                Some(l) => ia3::merge_weight(weight, &l, spec.is_feedforward(module)).map(Some),
                None => Ok(None),
            },
            PeftSpec::Prefix(_) => Ok(None),
        }
    }

    /// Whether the method folds into the weights (`export --merge`).
    pub fn merges(&self) -> bool {
        !matches!(self, PeftSpec::Prefix(_))
    }

    /// `module`'s merged bias: (IA)³ scales the bias of the modules whose
    /// output it scales; the other methods leave biases alone.
    pub fn merged_bias(
        &self,
        module: &str,
        bias: &Tensor,
        get: &dyn Fn(&str) -> Option<Tensor>,
    ) -> Result<Option<Tensor>> {
        match self {
            PeftSpec::Ia3(spec) if !spec.is_feedforward(module) => {
                match get(&format!("{module}.{}", ia3::VECTOR)) {
                    Some(l) => Ok(Some(bias.mul(&l.flatten_all()?)?)),
                    None => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }
}

/// peft's rule for one target name: the module's name is it, or ends
/// with `.` + it.
pub fn matches_target(module: &str, target: &str) -> bool {
    module == target
        || module
            .strip_suffix(target)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Whether `module` is among `targets` as peft matches them; `all-linear`
/// is every linear of the encoder layers.
pub fn targets_module(module: &str, targets: &[String]) -> bool {
    if targets.iter().any(|t| t == "all-linear") {
        return module.contains(".layer.");
    }
    targets.iter().any(|t| matches_target(module, t))
}

/// Whether `name` is an adapter's own tensor (never part of the base
/// model, never frozen).
pub fn is_adapter_tensor(name: &str) -> bool {
    name.contains(".lora_")
        || name.ends_with(&format!(".{}", ia3::VECTOR))
        || name.starts_with("prompt_encoder.")
}

/// One linear's adapter.
pub enum Adapter {
    Lora(LoraAdapter),
    Ia3(Ia3Vector),
}
