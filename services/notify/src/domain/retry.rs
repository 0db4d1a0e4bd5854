//! The retry policy: what an attempt's answer means and when (if ever) the
//! next attempt is made.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered,
    /// 410 Gone: the receiver asks to be forgotten (the subscription is disabled).
    Gone,
    /// Any other answer (redirects included: they are not followed); a 429
    /// or 503 may say when to come back.
    Failed { retry_after: Option<Duration> },
    /// No answer: timeout, refused connection, a forbidden address.
    Error,
}

impl Outcome {
    pub fn of_status(status: u16, retry_after: Option<Duration>) -> Self {
        match status {
            200..=299 => Outcome::Delivered,
            410 => Outcome::Gone,
            429 | 503 => Outcome::Failed { retry_after },
            _ => Outcome::Failed { retry_after: None },
        }
    }
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// The round's attempts are used up: a dead letter.
    Dead,
    /// The receiver is gone: a dead letter, and the subscription disabled.
    Disable,
}

/// The delays between attempts and the cap on a receiver's `Retry-After`.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub delays: Vec<Duration>,
    pub max_retry_after: Duration,
}

impl Schedule {
    /// After the `attempt`-th attempt of a round (1-based) came to
    /// `outcome` at `now`. `jitter` in [0, 1) spreads the delay by ±20 %
    /// so that failing deliveries do not retry in lockstep.
    pub fn next(&self, outcome: Outcome, attempt: usize, now: DateTime<Utc>, jitter: f64) -> Next {
        match outcome {
            Outcome::Delivered => return Next::Delivered,
            Outcome::Gone => return Next::Disable,
            Outcome::Failed { .. } | Outcome::Error => {}
        }
        let Some(delay) = self.delays.get(attempt.saturating_sub(1)) else {
            return Next::Dead;
        };
        let wait = match outcome {
            Outcome::Failed {
                retry_after: Some(asked),
            } => asked.min(self.max_retry_after),
            _ => delay.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0)),
        };
        Next::Retry(now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX))
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (past dates mean now).
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Schedule {
        Schedule {
            delays: vec![
                Duration::from_secs(10),
                Duration::from_secs(60),
                Duration::from_secs(300),
            ],
            max_retry_after: Duration::from_secs(3600),
        }
    }

    #[test]
    fn three_retries_with_growing_jittered_delays_then_a_dead_letter() {
        let now = Utc::now();
        let s = schedule();
        let fail = Outcome::of_status(500, None);
        let at = |attempt, jitter| match s.next(fail, attempt, now, jitter) {
            Next::Retry(t) => (t - now).num_milliseconds(),
            other => panic!("{other:?}"),
        };
        assert_eq!(at(1, 0.0), 8_000);
        assert_eq!(at(1, 0.5), 10_000);
        assert!(at(1, 0.999) < 12_000);
        assert_eq!(at(2, 0.5), 60_000);
        assert_eq!(at(3, 0.5), 300_000);
        assert_eq!(s.next(fail, 4, now, 0.5), Next::Dead);
        assert_eq!(s.next(Outcome::Error, 4, now, 0.5), Next::Dead);
    }

    #[test]
    fn answers_decide() {
        let now = Utc::now();
        let s = schedule();
        assert_eq!(
            s.next(Outcome::of_status(204, None), 1, now, 0.0),
            Next::Delivered
        );
        assert_eq!(
            s.next(Outcome::of_status(410, None), 1, now, 0.0),
            Next::Disable
        );
        // A redirect is a failure like any other answer.
        assert!(matches!(
            s.next(Outcome::of_status(301, None), 1, now, 0.0),
            Next::Retry(_)
        ));
    }

    #[test]
    fn retry_after_is_honoured_on_429_and_503_only_and_capped() {
        let now = Utc::now();
        let s = schedule();
        let ask = Some(Duration::from_secs(2));
        assert_eq!(
            s.next(Outcome::of_status(429, ask), 1, now, 0.9),
            Next::Retry(now + chrono::Duration::seconds(2))
        );
        assert_eq!(
            s.next(Outcome::of_status(503, ask), 1, now, 0.9),
            Next::Retry(now + chrono::Duration::seconds(2))
        );
        assert_eq!(
            Outcome::of_status(500, ask),
            Outcome::Failed { retry_after: None }
        );
        let long = Some(Duration::from_secs(86_400));
        assert_eq!(
            s.next(Outcome::of_status(429, long), 1, now, 0.0),
            Next::Retry(now + chrono::Duration::seconds(3600))
        );
        // The last attempt stays the last, whatever the receiver asks.
        assert_eq!(
            s.next(Outcome::of_status(429, ask), 4, now, 0.0),
            Next::Dead
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Tue, 01 Dec 2026 10:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("Tue, 01 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }
}
