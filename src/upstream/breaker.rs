//! A consecutive-failures breaker for one gateway: closed → open (no calls, immediate answer)
//! → half-open (one probe call) → closed or open again. A `429` with `Retry-After` opens it
//! for the time the gateway asked for, capped.

use std::time::{Duration, Instant};

use crate::gateway::GatewayError;

/// A gateway asking for more than this is still probed again after this long.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub enum BreakerState {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        cause: GatewayError,
    },
    /// The probe call is in flight; everyone else is answered without calling.
    HalfOpen {
        cause: GatewayError,
    },
}

impl BreakerState {
    /// The value of the `gateway_breaker_state` label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Closed { .. } => "closed",
            Self::Open { .. } => "open",
            Self::HalfOpen { .. } => "half_open",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Breaker {
    state: BreakerState,
    /// 0: never opens.
    threshold: u32,
    open_for: Duration,
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            state: BreakerState::Closed { failures: 0 },
            threshold,
            open_for,
        }
    }

    pub fn state(&self) -> &BreakerState {
        &self.state
    }

    /// May a call be made now? `Err` is the answer to give instead. An open breaker whose time
    /// is up turns half-open and lets this one caller through as the probe.
    pub fn admit(&mut self, now: Instant) -> Result<(), GatewayError> {
        match &self.state {
            BreakerState::Closed { .. } => Ok(()),
            BreakerState::Open { until, cause } if now >= *until => {
                self.state = BreakerState::HalfOpen {
                    cause: cause.clone(),
                };
                Ok(())
            }
            BreakerState::Open { cause, .. } | BreakerState::HalfOpen { cause } => {
                Err(GatewayError::BreakerOpen {
                    cause: Box::new(cause.clone()),
                })
            }
        }
    }

    pub fn on_success(&mut self) {
        self.state = BreakerState::Closed { failures: 0 };
    }

    pub fn on_failure(&mut self, err: &GatewayError, now: Instant) {
        // A gateway that says when to come back is honoured even with the breaker switched off.
        if let GatewayError::RateLimited {
            retry_after: Some(wait),
            ..
        } = err
        {
            self.state = BreakerState::Open {
                until: now + (*wait).min(RETRY_AFTER_CAP),
                cause: err.clone(),
            };
            return;
        }
        if self.threshold == 0 || matches!(err, GatewayError::NotConfigured) {
            return;
        }
        let failures = match &self.state {
            BreakerState::Closed { failures } => failures.saturating_add(1),
            // A failed probe opens again at once.
            BreakerState::HalfOpen { .. } | BreakerState::Open { .. } => self.threshold,
        };
        self.state = if failures >= self.threshold {
            BreakerState::Open {
                until: now + self.open_for,
                cause: err.clone(),
            }
        } else {
            BreakerState::Closed { failures }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn down() -> GatewayError {
        GatewayError::Unreachable("refused".into())
    }

    #[test]
    fn a_429_with_retry_after_is_honoured_even_with_the_breaker_off() {
        let mut b = Breaker::new(0, Duration::from_secs(10));
        let t0 = Instant::now();
        b.on_failure(&down(), t0);
        assert!(b.admit(t0).is_ok(), "threshold 0: failures never open it");
        b.on_failure(
            &GatewayError::RateLimited {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after: Some(Duration::from_secs(2)),
            },
            t0,
        );
        assert!(b.admit(t0 + Duration::from_secs(1)).is_err());
        assert!(b.admit(t0 + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn opens_after_threshold_and_probes_once_after_the_wait() {
        let mut b = Breaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..2 {
            assert!(b.admit(t0).is_ok());
            b.on_failure(&down(), t0);
        }
        assert_eq!(b.state().label(), "closed");
        b.on_failure(&down(), t0);
        let err = b.admit(t0).unwrap_err();
        assert_eq!(err.public_message(), "Gateway unreachable");
        assert_eq!(err.kind(), "breaker_open");
        let later = t0 + Duration::from_secs(10);
        assert!(b.admit(later).is_ok(), "probe admitted");
        assert_eq!(b.state().label(), "half_open");
        assert!(b.admit(later).is_err(), "only one probe");
        b.on_failure(&down(), later);
        assert_eq!(b.state().label(), "open");
        assert!(b.admit(later + Duration::from_secs(10)).is_ok());
        b.on_success();
        assert_eq!(b.state().label(), "closed");
    }

    #[test]
    fn success_resets_the_count() {
        let mut b = Breaker::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        b.on_failure(&down(), t0);
        b.on_success();
        b.on_failure(&down(), t0);
        assert!(b.admit(t0).is_ok());
    }

    #[test]
    fn retry_after_opens_at_once_and_is_capped() {
        let mut b = Breaker::new(5, Duration::from_secs(10));
        let t0 = Instant::now();
        let limited = GatewayError::RateLimited {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(100_000)),
        };
        b.on_failure(&limited, t0);
        let err = b.admit(t0 + Duration::from_secs(299)).unwrap_err();
        assert_eq!(err.public_message(), "Gateway rate limited");
        assert!(b.admit(t0 + RETRY_AFTER_CAP).is_ok());
    }

    #[test]
    fn threshold_zero_never_opens_and_not_configured_never_counts() {
        let mut off = Breaker::new(0, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..100 {
            off.on_failure(&down(), t0);
        }
        assert!(off.admit(t0).is_ok());
        let mut b = Breaker::new(1, Duration::from_secs(10));
        b.on_failure(&GatewayError::NotConfigured, t0);
        assert!(b.admit(t0).is_ok());
    }
}
