//! Engine adapters against recorded answers: the real vLLM captures, and every fixture folder
//! under `fixtures/engines/` that carries an `expected.json` (engines written from their
//! documented shapes, old field names included).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use modelspec::runtime::{self, EngineFacts, EngineId, Inputs, StaticAnswers};
use serde_json::Value as Json;

fn engines_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/engines")
}

/// The command line and environment of a fixture: `process.json` (`{argv, env}`), or the API
/// server of a real capture's `process/tree.json`.
fn process_of(dir: &Path) -> (Vec<String>, BTreeMap<String, String>) {
    let read = |p: PathBuf| -> Option<Json> { serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok() };
    if let Some(doc) = read(dir.join("process.json")) {
        let argv = doc["argv"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let env = doc["env"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        return (argv, env);
    }
    let tree = read(dir.join("process/tree.json")).expect("process.json or process/tree.json");
    let argv = tree["processes"][0]["cmdline"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
        .unwrap_or_default();
    (argv, BTreeMap::new())
}

fn read_fixture(dir: &Path, with_argv: bool) -> (Option<EngineId>, EngineFacts) {
    read_fixture_for(dir, with_argv, None)
}

fn read_fixture_for(dir: &Path, with_argv: bool, model_hint: Option<&str>) -> (Option<EngineId>, EngineFacts) {
    let answers = StaticAnswers::from_fixture_dir(dir).expect("fixture answers");
    let (argv, env) = process_of(dir);
    let inputs = Inputs {
        argv: with_argv.then_some(argv.as_slice()),
        env: &env,
        env_names: None,
        answers: &answers,
        largest_gpu_mib: None,
        model_hint,
        model_config: None,
    };
    let detection = runtime::detect(&inputs);
    let engine = detection.as_ref().map(|d| d.engine);
    let facts = engine.map(|e| runtime::facts(e, &inputs)).unwrap_or_default();
    (engine, facts)
}

#[test]
fn the_real_vllm_reads_as_vllm_with_every_fact_and_its_source() {
    let (engine, f) = read_fixture(&engines_dir().join("vllm-0.32/default"), true);
    assert_eq!(engine, Some(EngineId::Vllm));
    assert_eq!(f.version.as_ref().map(|v| v.value.as_str()), Some("0.32.0"));
    assert_eq!(
        f.served_model_ids.as_ref().map(|v| v.value.clone()),
        Some(vec!["tiny-llama".to_string()])
    );
    assert_eq!(
        f.model_root.as_ref().map(|v| v.value.as_str()),
        Some("/tmp/modelspec-real-vllm/tiny-llama")
    );
    let len = f.max_sequence_length.as_ref().expect("max_model_len");
    assert_eq!(len.value, 1024);
    assert_eq!(len.source.describe(), "GET /v1/models data[].max_model_len");
    let batch = f.max_batch_size.as_ref().expect("max_num_seqs");
    assert_eq!(
        (batch.value, batch.source.describe().as_str()),
        (8, "command line --max-num-seqs")
    );
    assert_eq!(f.dtype.as_ref().map(|d| d.value.as_str()), Some("bf16"));
    assert_eq!(f.tensor_parallel.as_ref().map(|t| t.value), Some(1));
    assert_eq!(f.request_logging.as_ref().map(|r| r.value), Some(false));
    assert_eq!(f.log_level.as_ref().map(|l| l.value.as_str()), Some("info"));
    assert_eq!(f.metrics_path.as_ref().map(|m| m.value.as_str()), Some("/metrics"));

    let (_, f) = read_fixture(&engines_dir().join("vllm-0.32/flags"), true);
    assert_eq!(f.max_sequence_length.map(|v| v.value), Some(512));
    assert_eq!(f.max_batch_size.map(|v| v.value), Some(4));
    assert_eq!(f.dtype.map(|v| v.value), Some("fp32".to_string()));
    assert_eq!(f.request_logging.map(|v| v.value), Some(true));
    assert_eq!(
        f.served_model_ids.map(|v| v.value),
        Some(vec!["tiny-llama-chat".to_string()])
    );
}

/// In a container the command line may be out of sight: the answers alone still name vLLM,
/// and the batch falls back to the engine default, saying so.
#[test]
fn vllm_without_its_command_line_is_detected_and_defaults_are_labelled() {
    let (engine, f) = read_fixture(&engines_dir().join("vllm-0.32/default"), false);
    assert_eq!(engine, Some(EngineId::Vllm));
    assert_eq!(f.max_sequence_length.map(|v| v.value), Some(1024));
    let batch = f.max_batch_size.expect("default batch");
    assert_eq!(batch.value, 256);
    assert!(
        batch.source.describe().starts_with("engine default"),
        "{:?}",
        batch.source
    );
    assert_eq!(f.dtype.map(|d| d.value), Some("auto".to_string()));
}

/// Every documented-shape fixture: the engine detected and each expected fact, value and source.
#[test]
fn every_fixture_with_expectations_reads_as_expected() {
    let mut checked = 0;
    let Ok(entries) = std::fs::read_dir(engines_dir()) else {
        panic!("no fixtures/engines");
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    for dir in dirs {
        let expected: Json = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("read"))
            .expect("expected.json");
        // The spec would name the model: Triton and Ollama are asked per model.
        let hint = expected["facts"]["served_model_ids"]["value"][0].as_str();
        let (engine, facts) = read_fixture_for(&dir, true, hint);
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let want_engine = expected["engine"].as_str().and_then(EngineId::from_framework);
        if engine != want_engine {
            failures.push(format!("{name}: engine {engine:?}, expected {want_engine:?}"));
            continue;
        }
        let got = serde_json::to_value(&facts).expect("facts serialize");
        for (fact, want) in expected["facts"].as_object().into_iter().flatten() {
            let have = &got[fact];
            let want_value = if want.is_null() { &Json::Null } else { &want["value"] };
            let have_value = if have.is_null() { &Json::Null } else { &have["value"] };
            // No metrics port means "the API port": an expectation naming the API port agrees.
            if fact == "metrics_port" && have.is_null() {
                continue;
            }
            if have_value != want_value {
                failures.push(format!("{name}: {fact} = {have_value}, expected {want_value}"));
            }
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{checked} fixture folder(s) checked");
}

/// Without `/info`, TGI's limits show in its metrics: the token histograms' buckets stop at
/// max_total_tokens.
#[test]
fn tgi_limits_from_its_bucket_layout() {
    let page = std::fs::read_to_string(engines_dir().join("../metrics/tgi-3.x/load.prom")).expect("TGI page");
    let mut answers = StaticAnswers::default();
    answers.insert("/metrics", 200, Some("text/plain; version=0.0.4"), &page);
    let argv: Vec<String> = [
        "text-generation-launcher",
        "--model-id",
        "meta-llama/Llama-3.1-8B-Instruct",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let inputs = Inputs {
        argv: Some(&argv),
        ..Inputs::from_answers(&answers)
    };
    let f = runtime::facts(EngineId::Tgi, &inputs);
    let len = f.max_sequence_length.expect("from the bucket layout");
    assert_eq!(len.value, 8192);
    assert!(
        len.source.describe().contains("tgi_request_generated_tokens"),
        "{:?}",
        len.source
    );
}
