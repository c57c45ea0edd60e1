//! The workload selector: how a spec (its `modelspec.piqc.ai/workload` annotation) or the
//! command line (`--workload`) names the process, container or pod it means on a node where
//! several serve one port. Parsed here, where the spec is read, so a bad annotation is a lint
//! pointing into the file; matching it against what a node shows is the checks' business
//! (`check::target`).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The annotation that names a spec's workload on a node, in the `--workload` grammar.
pub const WORKLOAD_ANNOTATION: &str = "modelspec.piqc.ai/workload";

/// A workload named by what the node shows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Selector {
    /// `pid:1190` or `1190`.
    Pid { pid: u32 },
    /// `container:NAME-OR-ID`, or a bare name or id prefix: a container id (at least 4 hex
    /// digits of its start) or name.
    Container { name: String },
    /// `pod:NAMESPACE/POD[/CONTAINER]` or `NAMESPACE/POD[/CONTAINER]`; `*` matches any run of
    /// characters (`prod/vllm-llama-*`).
    Pod {
        namespace: String,
        pod: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        container: Option<String>,
    },
}

impl FromStr for Selector {
    type Err = String;

    fn from_str(text: &str) -> Result<Selector, String> {
        let text = text.trim();
        let (kind, value) = match text.split_once(':') {
            Some((kind @ ("pid" | "container" | "pod"), value)) => (Some(kind), value.trim()),
            _ => (None, text),
        };
        if value.is_empty() {
            return Err(format!(
                "{text:?} names no workload; use pid:PID, container:NAME-OR-ID or NAMESPACE/POD[/CONTAINER]"
            ));
        }
        let pod = |value: &str| -> Result<Selector, String> {
            let parts: Vec<&str> = value.split('/').collect();
            match parts.as_slice() {
                [namespace, pod] if !namespace.is_empty() && !pod.is_empty() => Ok(Selector::Pod {
                    namespace: namespace.to_string(),
                    pod: pod.to_string(),
                    container: None,
                }),
                [namespace, pod, container] if parts.iter().all(|p| !p.is_empty()) => Ok(Selector::Pod {
                    namespace: namespace.to_string(),
                    pod: pod.to_string(),
                    container: Some(container.to_string()),
                }),
                _ => Err(format!("{value:?} is not NAMESPACE/POD or NAMESPACE/POD/CONTAINER")),
            }
        };
        match kind {
            Some("pid") => value
                .parse::<u32>()
                .map(|pid| Selector::Pid { pid })
                .map_err(|_| format!("pid:{value} is not a process id")),
            Some("pod") => pod(value),
            Some(_) => Ok(Selector::Container { name: value.into() }),
            None if value.bytes().all(|b| b.is_ascii_digit()) => value
                .parse::<u32>()
                .map(|pid| Selector::Pid { pid })
                .map_err(|_| format!("{value} is not a process id")),
            None if value.contains('/') => pod(value),
            None => Ok(Selector::Container { name: value.into() }),
        }
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Pid { pid } => write!(f, "pid:{pid}"),
            Selector::Container { name } => write!(f, "container:{name}"),
            Selector::Pod {
                namespace,
                pod,
                container: None,
            } => write!(f, "pod:{namespace}/{pod}"),
            Selector::Pod {
                namespace,
                pod,
                container: Some(c),
            } => write!(f, "pod:{namespace}/{pod}/{c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_in_every_spelling() {
        let parse = |s: &str| s.parse::<Selector>();
        assert_eq!(parse("1190"), Ok(Selector::Pid { pid: 1190 }));
        assert_eq!(parse("pid:1190"), Ok(Selector::Pid { pid: 1190 }));
        assert_eq!(
            parse("container:vllm-a"),
            Ok(Selector::Container { name: "vllm-a".into() })
        );
        assert_eq!(parse("3f2a9c"), Ok(Selector::Container { name: "3f2a9c".into() }));
        assert_eq!(
            parse("prod/vllm-*"),
            Ok(Selector::Pod {
                namespace: "prod".into(),
                pod: "vllm-*".into(),
                container: None
            })
        );
        assert_eq!(
            parse("pod:prod/vllm-0/server"),
            Ok(Selector::Pod {
                namespace: "prod".into(),
                pod: "vllm-0".into(),
                container: Some("server".into())
            })
        );
        for bad in ["", "pid:x", "pod:prod", "a/b/c/d", "pod:/x", "container:"] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        for s in ["pid:7", "container:x", "pod:a/b", "pod:a/b/c"] {
            assert_eq!(parse(s).map(|p| p.to_string()).as_deref(), Ok(s));
        }
    }
}
