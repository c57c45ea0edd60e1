//! How `scan` and `facts` reach the serving endpoints: host, base URL, token, TLS.
//!
//! The token comes from `MODELSPEC_TOKEN` or `--token-file`, never from the command line,
//! where any user of the node could read it in `/proc/<pid>/cmdline`.

use std::path::PathBuf;
use std::time::Duration;

use modelspec_probe_http::{ClientOptions, Token};

/// Whether to ask the cloud's instance metadata service, and where (`scan`, `serve`, `facts`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CloudArgs {
    /// Ask the cloud's instance metadata service (AWS, Google Cloud, Azure) for the instance
    /// type and spot capacity, for governance.cost.pricingHints (else only the DMI strings).
    #[arg(long)]
    pub cloud_metadata: bool,
    /// Ask the metadata service at this base URL instead of the providers' own (tests, a
    /// metadata proxy).
    #[arg(long, value_name = "URL", requires = "cloud_metadata")]
    pub cloud_metadata_endpoint: Option<String>,
}

impl CloudArgs {
    /// The plan's cloud probe, when asked for.
    pub fn plan(&self) -> Option<crate::observe::cloud::CloudPlan> {
        self.cloud_metadata.then(|| crate::observe::cloud::CloudPlan {
            endpoint: self.cloud_metadata_endpoint.clone(),
        })
    }
}

/// Flags shared by the commands that ask serving endpoints.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectArgs {
    /// Host of the serving endpoints (default 127.0.0.1); ports come from the specs.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Base URL of the serving endpoint, replacing http://HOST:PORT (one spec only).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Read the bearer token from FILE (else $MODELSPEC_TOKEN); sent to the target host only.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Trust the CA certificates in this PEM file for https endpoints.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify TLS certificates (https endpoints). Never the default.
    #[arg(long)]
    pub insecure: bool,
}

impl ConnectArgs {
    /// The HTTP client options, or why they cannot be made (an unreadable token file).
    pub fn client_options(&self, timeout: Duration) -> Result<ClientOptions, String> {
        let token = match &self.token_file {
            Some(path) => Some(Token::from_file(path).map_err(|e| e.reason().to_string())?),
            None => Token::from_env().map_err(|e| e.reason().to_string())?,
        };
        Ok(ClientOptions {
            connect_timeout: timeout.min(Duration::from_secs(2)),
            request_timeout: timeout,
            token,
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
            ..ClientOptions::default()
        })
    }
}
