//! `GET /v1/models`, the OpenAI-compatible model list most engines serve.
//!
//! Every engine fills `data[].id` with the name clients send; the rest is engine-specific and
//! read where present: `root` (vLLM, SGLang: the model's path), `max_model_len` (vLLM, SGLang),
//! `owned_by` (`vllm`, `sglang`, `llamacpp`, ...), and llama.cpp's `meta.n_ctx_train`.

use serde_json::Value as Json;

use super::{Inputs, as_text, as_u64};

/// The path.
pub const MODELS: &str = "/v1/models";

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelEntry {
    pub id: String,
    pub owned_by: Option<String>,
    pub root: Option<String>,
    pub max_model_len: Option<u64>,
}

/// The list, or why it could not be read.
pub fn models(inputs: &Inputs) -> Result<Vec<ModelEntry>, String> {
    let doc = inputs.json(MODELS)?;
    let Some(data) = doc.get("data").and_then(Json::as_array) else {
        return Err(format!("GET {MODELS} has no `data` list"));
    };
    Ok(data
        .iter()
        .filter_map(|m| {
            Some(ModelEntry {
                id: as_text(m.get("id")?)?,
                owned_by: m.get("owned_by").and_then(as_text),
                root: m.get("root").and_then(as_text),
                max_model_len: m.get("max_model_len").and_then(as_u64),
            })
        })
        .collect())
}

/// Whether any entry is `owned_by` one of `owners`.
pub fn owned_by(inputs: &Inputs, owners: &[&str]) -> Option<String> {
    // Read in place: every engine's signature asks this of the same list.
    let doc = inputs.json(MODELS).ok()?;
    let owner = doc
        .get("data")?
        .as_array()?
        .iter()
        .filter(|m| m.get("id").and_then(as_text).is_some())
        .filter_map(|m| m.get("owned_by")?.as_str())
        .find(|o| owners.iter().any(|w| o.eq_ignore_ascii_case(w)))?;
    Some(format!("GET {MODELS} owned_by \"{owner}\""))
}
