//! Logs: `tracing` with an `EnvFilter` from `RUST_LOG`, pretty or JSON.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Used when `RUST_LOG` is unset: our own events and one line per request.
pub const DEFAULT_FILTER: &str = "info,tower_http=info,hyper=warn,reqwest=warn";

/// Install the global subscriber writing to `writer`. Returns false when one was already
/// installed (tests start many apps in one process).
pub fn init<W>(format: LogFormat, writer: W) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            )
            .try_init()
            .is_ok(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    // Colours only for a person at a terminal, not for a file or a pipe.
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                    .with_writer(writer),
            )
            .try_init()
            .is_ok(),
    }
}
