//! Fuzzes every engine's readers of endpoint answers: the input is split into endpoint bodies
//! (one per known path, separated by NUL bytes), then detection and each engine's facts run
//! over them. JSON that is malformed, deep, huge in numbers or of the wrong shape must give
//! errors or absent facts, never a panic.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use modelspec::runtime::{self, EngineId, Inputs, StaticAnswers};

fuzz_target!(|data: &[u8]| {
    let paths = runtime::all_endpoints();
    let mut answers = StaticAnswers::default();
    for (path, body) in paths.iter().zip(data.split(|b| *b == 0)) {
        let body = String::from_utf8_lossy(body);
        answers.insert(path, 200, Some("application/json"), &body);
    }
    // The first body also serves as a command line, so argv readers see hostile input too.
    let argv: Vec<String> = data
        .split(|b| *b == 0)
        .next()
        .map(|b| String::from_utf8_lossy(b).split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let env = BTreeMap::new();
    let config = serde_json::from_slice::<serde_json::Value>(data).ok();
    let inputs = Inputs {
        argv: Some(&argv),
        env: &env,
        env_names: None,
        answers: &answers,
        largest_gpu_mib: Some(81_559),
        model_hint: Some("meta-llama/Llama-3.1-8B-Instruct"),
        model_config: config.as_ref(),
    };
    let _ = runtime::detect(&inputs);
    for engine in EngineId::ALL {
        let _ = runtime::facts(engine, &inputs);
    }
});
