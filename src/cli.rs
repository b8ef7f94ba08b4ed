//! The command line: `serve` (the default), `dev-token` and `healthcheck`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{SecretArgs, ServeArgs};

#[derive(Debug, Parser)]
#[command(
    name = "sessions-api",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a subcommand the server runs with these flags.
    #[command(flatten)]
    pub serve: ServeArgs,
}

// Parsed once at start-up; boxing the variants would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Print a NextAuth v4 session-cookie value for the configured secret (development only).
    DevToken(DevTokenArgs),
    /// Probe /healthz and exit 0 when it answers 200 (for container health checks without curl).
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
pub struct DevTokenArgs {
    /// The session's email claim.
    #[arg(long)]
    pub email: String,
    /// The session's `sub` claim (user id).
    #[arg(long)]
    pub sub: Option<String>,
    /// The session's name claim.
    #[arg(long)]
    pub name: Option<String>,
    /// Lifetime of the token in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: i64,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// Full URL to probe; default `http://<LISTEN_ADDR>/healthz` (0.0.0.0 probed as 127.0.0.1).
    #[arg(long)]
    pub url: Option<String>,
    /// Address the server listens on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:3000")]
    pub listen_addr: SocketAddr,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 2_000)]
    pub timeout_ms: u64,
}

impl HealthcheckArgs {
    pub fn url(&self) -> String {
        if let Some(url) = &self.url {
            return url.clone();
        }
        let mut addr = self.listen_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}/healthz")
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}
