//! Identity domain: the model the engine serves is the declared one, served by the declared
//! framework, in the declared precision, from the declared artifact.
//!
//! Model ids are compared after normalization: `hf://org/name` and `org/name` are the same
//! model, ids compare without case, and an engine that serves a local copy names it by path
//! (`/models/org/name`, or the Hugging Face cache's `models--org--name/snapshots/<sha>`), which
//! matches when the path ends in the id.

use serde_json::json;

use super::engine::{EngineView, Unseen};
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::runtime::EngineId;
use crate::spec::ModelSpec;

/// The engine serves the declared model id (served name or model path).
pub const MODEL_ID: Check = Check {
    code: "model-id",
    domain: Domain::Identity,
    summary: "the engine serves the declared model id (served name or model path)",
    explanation: "Equality after normalization: identity.model.id against the engine's served model ids or its model path. hf://org/name and org/name are the same, case is ignored, and a path ending in /org/name or the HF cache's models--org--name matches. Sources: vLLM, SGLang, NIM, llama.cpp and TensorRT-LLM /v1/models data[].id and root; TGI /info model_id; SGLang /server_info served_model_name and model_path; llama.cpp /props model_alias and model_path; Triton the model configuration's name; Ollama /api/ps models[].name.",
    pointers: &["/spec/identity/model/id"],
};

/// The engine is the declared framework.
pub const FRAMEWORK: Check = Check {
    code: "model-framework",
    domain: Domain::Identity,
    summary: "the engine on the serving port is the declared framework",
    explanation: "Equality: identity.model.framework against the engine detected on the serving port (command line first: vllm serve, text-generation-launcher, sglang.launch_server, tritonserver, llama-server, trtllm-serve, ollama serve; then answer signatures: /v1/models owned_by, /info, /server_info, /v2, /props, /api/version, /v1/metadata). A library rather than an engine (transformers, pytorch, ...) is skipped with the reason. A vllm spec served by NIM passes (NIM runs vLLM).",
    pointers: &["/spec/identity/model/framework"],
};

/// The engine runs the weights in the declared precision.
pub const PRECISION: Check = Check {
    code: "model-precision",
    domain: Domain::Identity,
    summary: "the engine's dtype (or quantization) is the declared precision",
    explanation: "Equality: identity.model.precision against the engine's dtype, normalized (bf16 = bfloat16, fp16 = float16 = half, fp32 = float32). A quantized model is compared by its method's precision (awq/gptq -> int4, fp8 -> fp8, int8/w8a8 -> int8). dtype auto is resolved from the local model folder's config.json (torch_dtype), else unknown. Sources: vLLM --dtype/--quantization, TGI /info model_dtype (before 2.3) or --dtype/DTYPE and --quantize/QUANTIZE, SGLang /server_info dtype and quantization, Ollama /api/ps details.quantization_level.",
    pointers: &["/spec/identity/model/precision"],
};

/// The engine serves the model from the declared artifact.
pub const ARTIFACT: Check = Check {
    code: "model-artifact",
    domain: Domain::Identity,
    summary: "the engine serves the model from the declared artifact",
    explanation: "Equality: identity.model.artifacts.modelUri against the engine's model path or repository, when comparable: file:// and absolute paths, and hf:// repositories. Object-store URIs (s3://, gs://, ...) are skipped: the engine serves a local copy.",
    pointers: &["/spec/identity/model/artifacts/modelUri"],
};

/// `hf://org/name` -> `org/name`, lowercased, no trailing slash.
pub(crate) fn normalize_id(id: &str) -> String {
    let id = id.trim();
    let id = ["hf://", "huggingface://", "hf.co/", "https://huggingface.co/"]
        .iter()
        .find_map(|p| id.strip_prefix(p))
        .unwrap_or(id);
    id.trim_end_matches('/').to_ascii_lowercase()
}

/// Whether a served name or path names the declared id.
pub(crate) fn names_model(served: &str, declared: &str) -> bool {
    let served = normalize_id(served);
    let declared = normalize_id(declared);
    if declared.is_empty() {
        return false;
    }
    if served == declared || served.ends_with(&format!("/{declared}")) {
        return true;
    }
    // The Hugging Face cache: .../models--org--name/snapshots/<sha>.
    let cached = format!("models--{}", declared.replace('/', "--"));
    served.split('/').any(|segment| segment == cached)
}

pub(crate) fn check(spec: &ModelSpec, view: &Result<EngineView, Unseen>, out: &mut Vec<Finding>) {
    let model = &spec.spec.identity.model;
    out.push(model_id(&model.id, view));
    out.push(framework(&model.framework, view));
    if let Some(p) = &model.precision {
        out.push(precision(p, view));
    }
    if let Some(uri) = model.artifacts.as_ref().and_then(|a| a.model_uri.as_deref()) {
        out.push(artifact(uri, view));
    }
}

fn model_id(declared: &str, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&MODEL_ID, "/spec/identity/model/id").declared(declared);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let ids = view.facts.served_model_ids.as_ref();
    let root = view.facts.model_root.as_ref();
    if ids.is_none() && root.is_none() {
        return b.status(Status::Unknown, view.missing("served_model_ids", "the served model"));
    }
    let mut candidates: Vec<&str> = ids
        .map(|f| f.value.iter().map(String::as_str).collect())
        .unwrap_or_default();
    if let Some(r) = root {
        candidates.push(&r.value);
    }
    let raw = json!({
        "engine": view.engine().map(EngineId::as_str),
        "served_ids": ids.map(|f| json!({"value": f.value, "source": f.source.describe()})),
        "model_root": root.map(|f| json!({"value": f.value, "source": f.source.describe()})),
    });
    let b = b.observed(json!(candidates)).evidence(
        "http+host",
        raw,
        "a served model id, or the model's path, names the declared id (hf:// prefix, case and the HF cache layout ignored)",
    );
    match candidates.iter().find(|c| names_model(c, declared)) {
        Some(hit) => b.status(Status::Pass, format!("the engine serves {hit}")),
        None => b
            .remediation("serve the declared model, or correct identity.model.id")
            .status(
                Status::Fail,
                format!("the engine serves {}, not {declared}", candidates.join(", ")),
            ),
    }
}

/// Framework names that are libraries, not serving engines: nothing on a node says which
/// library a model was trained or exported with.
const LIBRARIES: &[&str] = &[
    "transformers",
    "pytorch",
    "torch",
    "tensorflow",
    "jax",
    "onnx",
    "onnxruntime",
    "diffusers",
    "sentence-transformers",
    "custom",
];

fn framework(declared: &str, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&FRAMEWORK, "/spec/identity/model/framework").declared(declared);
    let Some(expected) = EngineId::from_framework(declared) else {
        let why = if LIBRARIES.contains(&declared.to_ascii_lowercase().as_str()) {
            format!("{declared} is a model library, not a serving engine: nothing on the node to compare it with")
        } else {
            format!("{declared} is not a serving engine modelspec can identify")
        };
        return b.status(Status::Skip, why);
    };
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let Some(detected) = view.engine() else {
        return b.status(Status::Unknown, view.unidentified());
    };
    let b = b.observed(detected.as_str()).evidence(
        "http+host",
        view.detection_evidence(),
        "the engine found on the serving port is the declared framework",
    );
    // An engine that runs another inside serves a spec declaring that one (NIM runs vLLM).
    if detected.serves(expected) {
        b.status(Status::Pass, format!("served by {}", detected.as_str()))
    } else {
        b.remediation("serve the model with the declared framework, or correct identity.model.framework")
            .status(
                Status::Fail,
                format!("served by {}, declared {declared}", detected.as_str()),
            )
    }
}

/// The precision a quantization method runs at, when the method fixes it.
fn quantized_precision(method: &str) -> Option<&'static str> {
    let m = method.to_ascii_lowercase();
    if m.contains("fp8") {
        Some("fp8")
    } else if m.contains("fp4") || m.contains("nvfp4") || m.contains("mxfp4") {
        Some("fp4")
    } else if m.contains("awq") || m.contains("gptq") || m.contains("marlin") || m.starts_with("q4") {
        Some("int4")
    } else if m.contains("int8") || m.contains("w8a8") || m.contains("smoothquant") || m.starts_with("q8") {
        Some("int8")
    } else {
        None
    }
}

fn precision(declared: &str, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&PRECISION, "/spec/identity/model/precision").declared(declared);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let want = crate::runtime::normalize_dtype(declared);
    if let Some(q) = &view.facts.quantization
        && let Some(runs_at) = quantized_precision(&q.value)
    {
        let b = b.observed(runs_at).evidence(
            "http+host",
            view.evidence(q),
            "a quantized model runs at its method's precision",
        );
        return if runs_at == want {
            b.status(Status::Pass, format!("quantized with {} ({runs_at})", q.value))
        } else {
            b.remediation("serve the declared precision, or correct identity.model.precision")
                .status(
                    Status::Fail,
                    format!("quantized with {} ({runs_at}), declared {declared}", q.value),
                )
        };
    }
    let Some(dtype) = &view.facts.dtype else {
        return b.status(Status::Unknown, view.missing("dtype", "the weights' dtype"));
    };
    if dtype.value == "auto" {
        return b.observed("auto").evidence("http+host", view.evidence(dtype), "").status(
            Status::Unknown,
            "the engine runs the model's own dtype (`auto`), which its config.json would tell; pass --dtype explicitly",
        );
    }
    let b = b.observed(dtype.value.as_str()).evidence(
        "http+host",
        view.evidence(dtype),
        "the engine's dtype, normalized (bfloat16 = bf16, float16 = half = fp16), equals the declared precision",
    );
    if dtype.value == want {
        b.status(
            Status::Pass,
            format!("runs {} ({})", dtype.value, dtype.source.describe()),
        )
    } else {
        b.remediation("start the engine with the declared dtype, or correct identity.model.precision")
            .status(
                Status::Fail,
                format!(
                    "runs {} ({}), declared {declared}",
                    dtype.value,
                    dtype.source.describe()
                ),
            )
    }
}

fn artifact(uri: &str, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&ARTIFACT, "/spec/identity/model/artifacts/modelUri").declared(uri);
    let declared = if let Some(path) = uri.strip_prefix("file://") {
        path.to_string()
    } else if uri.starts_with('/') || uri.starts_with("hf://") || uri.starts_with("huggingface://") {
        uri.to_string()
    } else {
        let scheme = uri.split("://").next().unwrap_or(uri);
        return b.status(
            Status::Skip,
            format!("a {scheme}:// artifact is copied before serving; the engine names its local copy, not the URI"),
        );
    };
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let Some(root) = &view.facts.model_root else {
        return b.status(Status::Unknown, view.missing("model_root", "the model's path"));
    };
    let b = b.observed(root.value.as_str()).evidence(
        "http+host",
        view.evidence(root),
        "the engine's model path (or repository) is the declared artifact",
    );
    if names_model(&root.value, &declared) || normalize_id(&root.value) == normalize_id(&declared) {
        b.status(Status::Pass, format!("serves {}", root.value))
    } else {
        b.remediation("serve the declared artifact, or correct identity.model.artifacts.modelUri")
            .status(Status::Fail, format!("serves {}, declared {uri}", root.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_match_across_spellings() {
        assert!(names_model("meta-llama/Llama-3.1-8B", "hf://meta-llama/llama-3.1-8b"));
        assert!(names_model(
            "/models/meta-llama/Llama-3.1-8B/",
            "meta-llama/Llama-3.1-8B"
        ));
        assert!(names_model(
            "/root/.cache/huggingface/hub/models--meta-llama--Llama-3.1-8B/snapshots/abc",
            "meta-llama/Llama-3.1-8B"
        ));
        assert!(!names_model("meta-llama/Llama-3.1-70B", "meta-llama/Llama-3.1-8B"));
        assert!(!names_model("/models/xLlama-3.1-8B", "Llama-3.1-8B"));
        assert!(!names_model("anything", ""));
    }

    #[test]
    fn quantization_methods_name_their_precision() {
        assert_eq!(quantized_precision("awq_marlin"), Some("int4"));
        assert_eq!(quantized_precision("fp8"), Some("fp8"));
        assert_eq!(quantized_precision("Q8_0"), Some("int8"));
        assert_eq!(quantized_precision("bitsandbytes"), None);
    }
}
