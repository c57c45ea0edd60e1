//! Batch domain: the engine's configured limits against `runtime.batch`.
//!
//! `maxBatchSize` is a ceiling on sequences run at once: an engine configured to run more than
//! declared breaks the contract (it will, under load, use the memory and latency budget the
//! spec did not plan for); fewer is within it. `maxSequenceLengthTokens` is a promise to
//! clients: an engine that cannot take a sequence that long breaks it; one that allows longer
//! sequences is worth a warning (requests the spec does not plan for).

use super::engine::{EngineView, Unseen};
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::spec::ModelSpec;

/// The engine runs at most `maxBatchSize` sequences at once.
pub const MAX_BATCH_SIZE: Check = Check {
    code: "batch-max-size",
    domain: Domain::Batch,
    summary: "the engine runs at most maxBatchSize sequences at once",
    explanation: "Bound: the engine's configured maximum of sequences run at once must be at most runtime.batch.maxBatchSize; more fails. Sources: vLLM --max-num-seqs (default 256, 1024 on GPUs of 70 GiB or more, and the finding says a default applied), TGI /info max_batch_size (before 2.3) or --max-batch-size/MAX_BATCH_SIZE, SGLang /server_info max_running_requests (the command-line value; SGLang may cap lower), Triton config max_batch_size, llama.cpp /props total_slots (-np), TensorRT-LLM --max_batch_size or /metrics maxBatchSizeStatic, Ollama OLLAMA_NUM_PARALLEL.",
    pointers: &["/spec/runtime/batch/maxBatchSize"],
};

/// The engine serves sequences of `maxSequenceLengthTokens`, and not much longer.
pub const MAX_SEQUENCE_LENGTH: Check = Check {
    code: "batch-max-sequence-length",
    domain: Domain::Batch,
    summary: "the engine serves maxSequenceLengthTokens (more warns)",
    explanation: "Bound: the engine's maximum sequence length (prompt + output) must cover runtime.batch.maxSequenceLengthTokens; less fails, more warns. Sources: vLLM /v1/models max_model_len (else --max-model-len), TGI /info max_total_tokens (else --max-total-tokens/MAX_TOTAL_TOKENS, else the highest bucket of its tgi_request_generated_tokens histogram, which TGI lays out up to that limit), SGLang /server_info context_length (else /v1/models max_model_len), llama.cpp /props default_generation_settings.n_ctx (per slot: -c divided by -np), TensorRT-LLM --max_seq_len, Ollama /api/ps context_length or OLLAMA_CONTEXT_LENGTH, NIM /v1/models max_model_len or NIM_MAX_MODEL_LEN.",
    pointers: &["/spec/runtime/batch/maxSequenceLengthTokens"],
};

pub(crate) fn check(spec: &ModelSpec, view: &Result<EngineView, Unseen>, out: &mut Vec<Finding>) {
    let Some(batch) = &spec.spec.runtime.batch else {
        return;
    };
    if let Some(declared) = batch.max_batch_size {
        out.push(max_batch_size(declared, view));
    }
    if let Some(declared) = batch.max_sequence_length_tokens {
        out.push(max_sequence_length(declared, view));
    }
}

fn max_batch_size(declared: u64, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&MAX_BATCH_SIZE, "/spec/runtime/batch/maxBatchSize").declared(declared);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let Some(fact) = &view.facts.max_batch_size else {
        return b.status(
            Status::Unknown,
            view.missing("max_batch_size", "the engine's batch limit"),
        );
    };
    let b = b.observed(fact.value).evidence(
        "http+host",
        view.evidence(fact),
        "the engine's configured maximum of concurrent sequences is at most maxBatchSize",
    );
    let from = fact.source.describe();
    if fact.value > declared {
        b.remediation(format!(
            "cap the engine at {declared} sequences (vLLM --max-num-seqs, TGI --max-batch-size, SGLang --max-running-requests, llama.cpp -np), or raise maxBatchSize"
        ))
        .status(
            Status::Fail,
            format!("the engine runs up to {} sequences at once ({from}), {declared} declared", fact.value),
        )
    } else {
        b.status(
            Status::Pass,
            format!(
                "the engine runs up to {} sequences at once ({from}), {declared} declared",
                fact.value
            ),
        )
    }
}

fn max_sequence_length(declared: u64, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&MAX_SEQUENCE_LENGTH, "/spec/runtime/batch/maxSequenceLengthTokens").declared(declared);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let Some(fact) = &view.facts.max_sequence_length else {
        return b.status(
            Status::Unknown,
            view.missing("max_sequence_length", "the engine's sequence limit"),
        );
    };
    let b = b.observed(fact.value).evidence(
        "http+host",
        view.evidence(fact),
        "the engine's maximum sequence length (prompt + output) covers maxSequenceLengthTokens; more is a warning",
    );
    let from = fact.source.describe();
    if fact.value < declared {
        b.remediation("raise the engine's context (vLLM --max-model-len, TGI --max-total-tokens, llama.cpp -c), or lower maxSequenceLengthTokens")
            .status(
                Status::Fail,
                format!("the engine serves at most {} tokens ({from}), {declared} declared", fact.value),
            )
    } else if fact.value > declared {
        b.remediation("cap the engine's context at the declared length, or raise maxSequenceLengthTokens")
            .status(
                Status::Warn,
                format!(
                    "the engine accepts {} tokens ({from}), more than the {declared} declared",
                    fact.value
                ),
            )
    } else {
        b.status(
            Status::Pass,
            format!("the engine serves {} tokens ({from}), as declared", fact.value),
        )
    }
}
