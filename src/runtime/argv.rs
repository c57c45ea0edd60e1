//! Reading a serving command line: which program it is, and the value of a flag.
//!
//! Engines parse their flags with argparse, clap or hand-written loops, which agree on the
//! basics: `--flag value` and `--flag=value`, the last occurrence wins, and (argparse in vLLM,
//! SGLang and TensorRT-LLM) `--max_model_len` means `--max-model-len`. Flags are compared with
//! `_` and `-` made equal after the leading dashes.

use super::EngineId;

/// `--max_model_len` and `--max-model-len` compare equal; short flags are left alone.
fn same_flag(arg: &str, name: &str) -> bool {
    if arg.len() != name.len() {
        return false;
    }
    let body = |s: &str| {
        let dashes = s.len() - s.trim_start_matches('-').len();
        (dashes, s[dashes..].replace('_', "-"))
    };
    body(arg) == body(name)
}

/// The value of the last occurrence of any of `names`, with the spelling that matched.
pub fn value<'a>(argv: &'a [String], names: &[&'static str]) -> Option<(&'a str, &'static str)> {
    let mut found = None;
    let mut args = argv.iter().peekable();
    while let Some(arg) = args.next() {
        for &name in names {
            if let Some((flag, v)) = arg.split_once('=')
                && same_flag(flag, name)
            {
                found = Some((v, name));
            } else if same_flag(arg, name)
                && let Some(next) = args.peek()
            {
                // A following flag is not a value (`--dtype --port 8000` is a broken line).
                if !(next.starts_with("--") && next.len() > 2) {
                    found = Some((next.as_str(), name));
                }
            }
        }
    }
    found
}

/// Every value after the last occurrence of a flag that takes several (`--served-model-name a b`),
/// up to the next flag; `--flag=a` gives one.
pub fn values<'a>(argv: &'a [String], names: &[&'static str]) -> Option<(Vec<&'a str>, &'static str)> {
    let mut found = None;
    for (at, arg) in argv.iter().enumerate() {
        for &name in names {
            if let Some((flag, v)) = arg.split_once('=')
                && same_flag(flag, name)
            {
                found = Some((vec![v], name));
            } else if same_flag(arg, name) {
                let rest = argv.get(at + 1..).unwrap_or_default();
                let taken: Vec<&str> = rest
                    .iter()
                    .take_while(|a| !(a.starts_with('-') && a.len() > 1))
                    .map(String::as_str)
                    .collect();
                if !taken.is_empty() {
                    found = Some((taken, name));
                }
            }
        }
    }
    found
}

/// The value of a flag as a number.
pub fn number(argv: &[String], names: &[&'static str]) -> Option<(u64, &'static str)> {
    let (v, flag) = value(argv, names)?;
    v.trim().parse().ok().map(|n| (n, flag))
}

/// Whether a boolean flag is on: the last of `on` or `off` flags given wins; `None` when
/// neither is present.
pub fn toggle(argv: &[String], on: &[&'static str], off: &[&'static str]) -> Option<(bool, &'static str)> {
    let mut state = None;
    for arg in argv {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
        if let Some(&name) = on.iter().find(|n| same_flag(flag, n)) {
            let explicit = arg.split_once('=').map(|(_, v)| v.to_ascii_lowercase());
            state = Some((!matches!(explicit.as_deref(), Some("false" | "0" | "no")), name));
        } else if let Some(&name) = off.iter().find(|n| same_flag(flag, n)) {
            state = Some((false, name));
        }
    }
    state
}

/// The program's file name, without its directory.
fn base(arg: &str) -> &str {
    arg.rsplit('/').next().unwrap_or(arg)
}

/// How a command line says it starts an engine: a program named within its first four
/// arguments (interpreter, script, subcommand), or a Python module run with `-m`. Each
/// engine's descriptor holds its own ([`super::Engine::launch`]).
#[derive(Debug, Clone, Copy)]
pub struct Launch {
    /// Program file names that start the engine (`tritonserver`, `llama-server`).
    pub programs: &'static [&'static str],
    /// The programs start the engine only with a `serve` argument (`vllm serve`, `ollama
    /// serve`): the same program also runs other subcommands.
    pub with_serve: bool,
    /// Python modules that start it, run as `-m MODULE` or `-m MODULE.sub`.
    pub modules: &'static [&'static str],
    /// What the evidence says was seen (`vllm serve`), after `command line: `.
    pub says: &'static str,
}

impl Launch {
    /// Whether `argv` starts this engine.
    pub fn matches(&self, argv: &[String]) -> bool {
        let bases: Vec<&str> = argv.iter().take(4).map(|a| base(a)).collect();
        let named =
            self.programs.iter().any(|p| bases.contains(p)) && (!self.with_serve || argv.iter().any(|a| a == "serve"));
        let module = self.modules.iter().any(|prefix| {
            argv.windows(2)
                .any(|w| w[0] == "-m" && (w[1] == *prefix || w[1].starts_with(&format!("{prefix}."))))
        });
        named || module
    }
}

/// Which engine a command line starts, and the words that say so: the first engine of
/// [`super::ENGINES`] whose [`Launch`] matches (NIM's vLLM extension before vLLM).
pub fn engine_from_argv(argv: &[String]) -> Option<(EngineId, String)> {
    super::ENGINES
        .iter()
        .find(|engine| engine.launch.matches(argv))
        .map(|engine| (engine.id, format!("command line: {}", engine.launch.says)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_in_every_spelling_last_wins() {
        let argv = line("vllm serve m --max-model-len 1024 --max_model_len=2048 --dtype bfloat16 --port");
        assert_eq!(value(&argv, &["--max-model-len"]), Some(("2048", "--max-model-len")));
        assert_eq!(number(&argv, &["--max-model-len"]), Some((2048, "--max-model-len")));
        assert_eq!(value(&argv, &["--dtype"]).map(|v| v.0), Some("bfloat16"));
        // A flag at the end has no value.
        assert_eq!(value(&argv, &["--port"]), None);
        let broken = line("x --dtype --port 1");
        assert_eq!(value(&broken, &["--dtype"]), None);
        assert_eq!(
            value(&line("x -tp 4"), &["--tensor-parallel-size", "-tp"]).map(|v| v.0),
            Some("4")
        );
    }

    #[test]
    fn flags_with_several_values() {
        let argv = line("vllm serve m --served-model-name a b --port 1");
        assert_eq!(
            values(&argv, &["--served-model-name"]),
            Some((vec!["a", "b"], "--served-model-name"))
        );
        assert_eq!(
            values(&line("x --served-model-name=c"), &["--served-model-name"]).map(|v| v.0),
            Some(vec!["c"])
        );
        assert_eq!(values(&line("x --served-model-name"), &["--served-model-name"]), None);
    }

    #[test]
    fn toggles_and_their_negations() {
        let on = ["--enable-log-requests"];
        let off = ["--disable-log-requests", "--no-enable-log-requests"];
        assert_eq!(toggle(&line("vllm serve m"), &on, &off), None);
        assert_eq!(
            toggle(&line("vllm serve m --enable-log-requests"), &on, &off).map(|t| t.0),
            Some(true)
        );
        assert_eq!(
            toggle(
                &line("vllm serve m --enable-log-requests --no-enable-log-requests"),
                &on,
                &off
            )
            .map(|t| t.0),
            Some(false)
        );
        assert_eq!(
            toggle(&line("x --enable_log_requests=false"), &on, &off).map(|t| t.0),
            Some(false)
        );
    }

    #[test]
    fn programs_name_their_engine() {
        let cases = [
            (
                "/venv/bin/python3.12 /venv/bin/vllm serve /m --port 8000",
                Some(EngineId::Vllm),
            ),
            (
                "python3 -m vllm.entrypoints.openai.api_server --model m",
                Some(EngineId::Vllm),
            ),
            ("text-generation-launcher --model-id m", Some(EngineId::Tgi)),
            ("/usr/src/text-generation-router --port 80", Some(EngineId::Tgi)),
            ("python3 -m sglang.launch_server --model-path m", Some(EngineId::Sglang)),
            (
                "/opt/tritonserver/bin/tritonserver --model-repository=/models",
                Some(EngineId::Triton),
            ),
            ("/app/llama-server -m model.gguf -c 4096", Some(EngineId::LlamaCpp)),
            (
                "trtllm-serve /engines/llama --max_batch_size 8",
                Some(EngineId::TensorrtLlm),
            ),
            ("/bin/ollama serve", Some(EngineId::Ollama)),
            (
                "python3 -m vllm_nvext.entrypoints.openai.api_server",
                Some(EngineId::Nim),
            ),
            ("python3 -c 'serve vllm'", None),
            ("nginx -g daemon off;", None),
        ];
        for (argv, want) in cases {
            assert_eq!(engine_from_argv(&line(argv)).map(|e| e.0), want, "{argv}");
        }
    }
}
