//! The cloud's instance metadata service (IMDS): which provider runs this node, its instance
//! type, and whether it is spot capacity. Asked only with `--cloud-metadata`: it is a request
//! off the node's own processes, and a reviewer should see it asked for.
//!
//! The three services differ in shape, so each has its exchange here, and all three are asked
//! at once (the one that is not there refuses or times out quickly on its link-local address):
//!
//! * AWS (IMDSv2): `PUT /latest/api/token` with a TTL header, then `instance-type`,
//!   `instance-life-cycle` (`spot`, `on-demand`) and `placement/region` under
//!   `/latest/meta-data/` with the token. The token is a secret: it is sent, never recorded.
//! * Google Cloud: `/computeMetadata/v1/instance/machine-type`, `scheduling/preemptible`
//!   (`TRUE` for spot and preemptible VMs) and `zone`, with `Metadata-Flavor: Google`; an answer
//!   counts only when it carries that header back.
//! * Azure: `/metadata/instance/compute?api-version=2021-02-01` with `Metadata: true`: `vmSize`,
//!   `priority` (`Spot`, `Low` or `Regular`) and `location`.
//!
//! Every request has a short timeout, a small body cap and follows no redirect. `--cloud-metadata-
//! endpoint URL` sends all three to another base URL (tests, a metadata proxy).

use std::time::{Duration, Instant};

use modelspec_probe_host::Observed;
use modelspec_probe_http::{ClientOptions, Exchange, FailureKind, HttpClient, Request, Target};
use serde::{Deserialize, Serialize};

/// Where the services are, unless overridden.
const AWS_BASE: &str = "http://169.254.169.254";
const GCP_BASE: &str = "http://metadata.google.internal";
const AZURE_BASE: &str = "http://169.254.169.254";

/// A metadata answer is a few hundred bytes; more is not a metadata service.
const MAX_BODY: usize = 64 * 1024;

/// What to ask.
#[derive(Debug, Clone, Default)]
pub struct CloudPlan {
    /// One base URL for every provider, instead of their own.
    pub endpoint: Option<String>,
}

/// What the metadata services said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudSnapshot {
    /// One answer per provider asked, in a fixed order (aws, gcp, azure).
    pub providers: Vec<ProviderAnswer>,
}

/// One provider's service: the instance it describes, `absent` when it is not there (refused,
/// not found, not its answer), `unknown` when it could not be read (timed out, malformed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderAnswer {
    /// `aws`, `gcp` or `azure`.
    pub provider: String,
    /// The base URL asked.
    pub url: String,
    pub instance: Observed<Instance>,
}

/// What a metadata service says of this instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// `p5.48xlarge`, `a3-highgpu-8g`, `Standard_ND96isr_H100_v5`.
    pub instance_type: Option<String>,
    /// Whether it is spot (or preemptible, or low-priority) capacity.
    pub spot: Option<bool>,
    /// The service's own word for it: `spot`, `on-demand`, `TRUE`, `Regular`.
    pub lifecycle: Option<String>,
    /// `us-east-1`, `us-central1`, `eastus`.
    pub region: Option<String>,
}

impl CloudSnapshot {
    /// The first provider whose service described the instance.
    pub fn answered(&self) -> Option<(&str, &Instance)> {
        self.providers
            .iter()
            .find_map(|p| p.instance.value().map(|i| (p.provider.as_str(), i)))
    }
}

/// Asks every provider's service at once, by `deadline`.
pub fn query_all(plan: &CloudPlan, deadline: Instant) -> CloudSnapshot {
    let ask: [(&str, &str, Asker); 3] = [
        ("aws", AWS_BASE, aws),
        ("gcp", GCP_BASE, gcp),
        ("azure", AZURE_BASE, azure),
    ];
    let providers = std::thread::scope(|scope| {
        let running: Vec<_> = ask
            .iter()
            .map(|&(provider, default_base, asker)| {
                let base = plan.endpoint.clone().unwrap_or_else(|| default_base.to_string());
                scope.spawn(move || {
                    let instance = match client(&base) {
                        Ok(client) => asker(&client, deadline),
                        Err(reason) => Observed::Unknown { reason },
                    };
                    ProviderAnswer {
                        provider: provider.to_string(),
                        url: base,
                        instance,
                    }
                })
            })
            .collect();
        running
            .into_iter()
            .zip(ask)
            .map(|(handle, (provider, base, _))| {
                handle.join().unwrap_or_else(|_| ProviderAnswer {
                    provider: provider.to_string(),
                    url: base.to_string(),
                    instance: Observed::Unknown {
                        reason: "the metadata query failed unexpectedly (a panic; see stderr)".into(),
                    },
                })
            })
            .collect()
    });
    CloudSnapshot { providers }
}

type Asker = fn(&HttpClient, Instant) -> Observed<Instance>;

fn client(base: &str) -> Result<HttpClient, String> {
    let target = Target::endpoint(base).map_err(|e| e.reason().to_string())?;
    HttpClient::new(
        target,
        ClientOptions {
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
            max_body_bytes: MAX_BODY,
            max_redirects: 0,
            extra_headers: vec!["metadata-flavor".into()],
            ..ClientOptions::default()
        },
    )
    .map_err(|e| e.reason().to_string())
}

/// A response's status and body, or why there is none.
fn answer(exchange: &Exchange) -> Result<(u16, &str), String> {
    match (exchange.response(), exchange.failure()) {
        (Some(r), _) if r.truncated => Err(format!("{} answered more than {MAX_BODY} bytes", exchange.url)),
        (Some(r), _) => Ok((r.status, r.body.as_str())),
        (None, Some(f)) => Err(f.reason.clone()),
        (None, None) => Err(format!("{} gave no answer", exchange.url)),
    }
}

/// A one-line value a service answered: at most 128 printable characters.
fn plain(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && text.len() <= 128 && text.chars().all(|c| c.is_ascii_graphic())).then(|| text.to_string())
}

/// A service that is not there (refused, not found) is absent; one that did not answer in time
/// is unknown.
fn not_there(exchange: &Exchange, what: &str) -> Observed<Instance> {
    match answer(exchange) {
        Ok((status, _)) => Observed::Absent {
            reason: format!("{} answered HTTP {status}: not {what}", exchange.url),
        },
        Err(reason) if exchange.failure().is_some_and(|f| f.kind == FailureKind::Timeout) => Observed::Unknown {
            reason: format!("{what} did not answer: {reason}"),
        },
        Err(reason) => Observed::Absent {
            reason: format!("no {what}: {reason}"),
        },
    }
}

fn aws(client: &HttpClient, deadline: Instant) -> Observed<Instance> {
    const WHAT: &str = "the AWS instance metadata service (IMDSv2)";
    let token_exchange = client.fetch(
        &Request::put("/latest/api/token").header("X-aws-ec2-metadata-token-ttl-seconds", "60"),
        deadline,
    );
    let token = match answer(&token_exchange) {
        Ok((200, body)) => match plain(body) {
            Some(token) => token,
            None => {
                return Observed::Absent {
                    reason: format!("{} answered no session token: not {WHAT}", token_exchange.url),
                };
            }
        },
        _ => return not_there(&token_exchange, WHAT),
    };
    let get = |path: &str| -> Result<Option<String>, String> {
        let exchange = client.fetch(
            &Request::get(format!("/latest/meta-data/{path}")).header("X-aws-ec2-metadata-token", token.as_str()),
            deadline,
        );
        match answer(&exchange) {
            Ok((200, body)) => Ok(plain(body)),
            Ok((404, _)) => Ok(None),
            Ok((status, _)) => Err(format!("{} answered HTTP {status}", exchange.url)),
            Err(reason) => Err(reason),
        }
    };
    let (instance_type, lifecycle, region) = match (
        get("instance-type"),
        get("instance-life-cycle"),
        get("placement/region"),
    ) {
        (Ok(t), Ok(l), Ok(r)) => (t, l, r),
        (Err(reason), _, _) | (_, Err(reason), _) | (_, _, Err(reason)) => {
            return Observed::Unknown {
                reason: format!("{WHAT} gave a token but not the instance: {reason}"),
            };
        }
    };
    Observed::Ok {
        value: Instance {
            instance_type,
            spot: lifecycle.as_deref().map(|l| l.eq_ignore_ascii_case("spot")),
            lifecycle,
            region,
        },
    }
}

fn gcp(client: &HttpClient, deadline: Instant) -> Observed<Instance> {
    const WHAT: &str = "the Google Cloud metadata server";
    let get = |path: &str| -> Result<Option<String>, Observed<Instance>> {
        let exchange = client.fetch(
            &Request::get(format!("/computeMetadata/v1/instance/{path}")).header("Metadata-Flavor", "Google"),
            deadline,
        );
        let flavored = exchange
            .response()
            .and_then(|r| r.headers.get("metadata-flavor"))
            .is_some_and(|v| v == "Google");
        match answer(&exchange) {
            Ok((200, body)) if flavored => Ok(plain(body)),
            Ok((200, _)) => Err(Observed::Absent {
                reason: format!("{} answered without Metadata-Flavor: Google: not {WHAT}", exchange.url),
            }),
            Ok((404, _)) if flavored => Ok(None),
            _ => Err(not_there(&exchange, WHAT)),
        }
    };
    let last = |path: Option<String>| path.and_then(|p| p.rsplit('/').next().map(str::to_string));
    let machine_type = match get("machine-type") {
        Ok(t) => last(t),
        Err(not) => return not,
    };
    let (preemptible, zone) = match (get("scheduling/preemptible"), get("zone")) {
        (Ok(p), Ok(z)) => (p, last(z)),
        (Err(not), _) | (_, Err(not)) => return not,
    };
    Observed::Ok {
        value: Instance {
            instance_type: machine_type,
            spot: preemptible.as_deref().map(|p| p.eq_ignore_ascii_case("true")),
            lifecycle: preemptible,
            // A zone is its region and a letter: us-central1-a.
            region: zone.map(|z| z.rsplit_once('-').map_or(z.clone(), |(region, _)| region.to_string())),
        },
    }
}

fn azure(client: &HttpClient, deadline: Instant) -> Observed<Instance> {
    const WHAT: &str = "the Azure instance metadata service";
    let exchange = client.fetch(
        &Request::get("/metadata/instance/compute?api-version=2021-02-01")
            .header("Metadata", "true")
            .accept("application/json"),
        deadline,
    );
    let body = match answer(&exchange) {
        Ok((200, body)) => body,
        _ => return not_there(&exchange, WHAT),
    };
    let Ok(compute) = serde_json::from_str::<serde_json::Value>(body) else {
        return Observed::Absent {
            reason: format!("{} answered something other than JSON: not {WHAT}", exchange.url),
        };
    };
    let field = |name: &str| compute.get(name).and_then(|v| v.as_str()).and_then(plain);
    let Some(vm_size) = field("vmSize") else {
        return Observed::Absent {
            reason: format!("{} answered JSON without compute.vmSize: not {WHAT}", exchange.url),
        };
    };
    let priority = field("priority");
    Observed::Ok {
        value: Instance {
            instance_type: Some(vm_size),
            spot: priority
                .as_deref()
                .map(|p| p.eq_ignore_ascii_case("spot") || p.eq_ignore_ascii_case("low")),
            lifecycle: priority,
            region: field("location"),
        },
    }
}
