//! What a query costs the caller: its points (measured before it runs,
//! [`super::measure`]) charged to the caller's rate-limit bucket before it
//! executes, at [`POINTS_PER_REQUEST`] points for each request the bucket
//! allows (so the 1000-point query for 50 customers draws 100 requests,
//! about the 101 REST calls it replaces, and `extensions.cost.remaining` is
//! the bucket's remainder in points); and the extension that applies the
//! limits and reports `extensions.cost` and `extensions.downstream`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};

use super::downstream::Downstream;
use super::measure::{INTROSPECTION_DEPTH, MAX_COST, MAX_DEPTH, Measure, measure};
use crate::ratelimit::{Bucket, Decision, RateLimiter, Source};

/// What one request of the caller's rate-limit quota is worth in points:
/// a REST list call returns a page of objects, a point is one object.
pub const POINTS_PER_REQUEST: u64 = 10;

/// The requests a query of `cost` points draws from the bucket (at least 1).
pub fn requests_for(cost: u64) -> u32 {
    u32::try_from(cost.div_ceil(POINTS_PER_REQUEST).max(1)).unwrap_or(u32::MAX)
}

/// One request's account: its limiter and bucket, what it asked, what it
/// got, and the rate-limit decision.
pub struct Gate {
    pub operation: Option<String>,
    pub limiter: Option<(Arc<RateLimiter>, Bucket)>,
    pub downstream: Arc<Downstream>,
    /// Objects returned so far.
    pub actual: AtomicU64,
    pub state: Mutex<GateState>,
}

#[derive(Debug, Clone, Default)]
pub struct GateState {
    pub requested: Option<u64>,
    /// The bucket's remainder after this query, in points.
    pub remaining: Option<u64>,
    /// The limiter's decision when it allowed the query (for the
    /// `RateLimit` fields).
    pub decision: Option<Decision>,
    /// The refusal when the bucket had not enough left (or the limiter
    /// could not decide: `fail_mode = closed`).
    pub refused: Option<(Decision, Source)>,
}

impl Gate {
    pub fn new(
        operation: Option<String>,
        limiter: Option<(Arc<RateLimiter>, Bucket)>,
        downstream: Arc<Downstream>,
    ) -> Self {
        Self {
            operation,
            limiter,
            downstream,
            actual: AtomicU64::new(0),
            state: Mutex::new(GateState::default()),
        }
    }

    /// Draws one unit for a request that never reached validation (it
    /// did not parse, or exceeded a limit): refusing it costs something too.
    async fn charge_unit(&self) {
        self.state().requested = Some(1);
        let _ = self.charge(1).await;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> GateState {
        self.state().clone()
    }

    async fn charge(&self, cost: u64) -> Result<(), ServerError> {
        let Some((limiter, bucket)) = &self.limiter else {
            return Ok(());
        };
        let (d, source) = limiter.check_cost(bucket, requests_for(cost)).await;
        if source == Source::Closed {
            self.state().refused = Some((d, source));
            return Err(coded(
                ServerError::new("rate limiting is unavailable", None),
                "UNAVAILABLE",
            ));
        }
        if !d.allowed {
            metrics::counter!("gateway_rate_limited_total", "policy" => d.policy.name())
                .increment(1);
            let retry = d.retry_after_secs;
            self.state().refused = Some((d, source));
            return Err(coded(
                ServerError::new(
                    format!("rate limit exceeded: this query costs {cost}; retry in {retry} s"),
                    None,
                ),
                "RATE_LIMITED",
            ));
        }
        let mut state = self.state();
        state.remaining = Some(u64::from(d.remaining) * POINTS_PER_REQUEST);
        state.decision = Some(d);
        Ok(())
    }
}

/// Sets `extensions.code` unless the error has one.
pub fn coded(mut e: ServerError, code: &str) -> ServerError {
    let ext = e.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        ext.set("code", code);
    }
    e
}

pub(super) fn refuse(message: impl Into<String>, code: &str) -> ServerError {
    coded(ServerError::new(message, None), code)
}

/// The limits, per request.
pub struct Limits;

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension {
            measure: Mutex::new(None),
            gate: Mutex::new(None),
        })
    }
}

struct LimitsExtension {
    measure: Mutex<Option<Measure>>,
    /// The request's gate, kept when the query is parsed: the request hook
    /// runs before the request's data is attached, so it cannot look it up.
    gate: Mutex<Option<Arc<Gate>>>,
}

impl LimitsExtension {
    fn measured(&self) -> Option<Measure> {
        *self.measure.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn gate(&self) -> Option<Arc<Gate>> {
        self.gate.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut res = next.run(ctx).await;
        for e in &mut res.errors {
            *e = coded(e.clone(), "VALIDATION_FAILED");
        }
        if let Some(gate) = self.gate() {
            if gate.snapshot().requested.is_none() {
                // Refused before validation (it did not parse, or went over
                // a limit): that costs one request too.
                gate.charge_unit().await;
            }
            let state = gate.snapshot();
            let requested = self
                .measured()
                .map(|m| if m.introspection { 1 } else { m.cost });
            let cost = serde_json::json!({
                "requested": requested,
                "actual": gate.actual.load(Ordering::Relaxed),
                "remaining": state.remaining,
            });
            res.extensions.insert(
                "cost".to_owned(),
                Value::from_json(cost).unwrap_or(Value::Null),
            );
            let calls = serde_json::to_value(gate.downstream.calls()).unwrap_or_default();
            res.extensions.insert(
                "downstream".to_owned(),
                Value::from_json(calls).unwrap_or(Value::Null),
            );
        }
        res
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<async_graphql::parser::types::ExecutableDocument> {
        *self.gate.lock().unwrap_or_else(|p| p.into_inner()) = ctx.data_opt::<Arc<Gate>>().cloned();
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| coded(e, "GRAPHQL_PARSE_FAILED"))?;
        let operation = ctx
            .data_opt::<Arc<Gate>>()
            .and_then(|g| g.operation.clone());
        let Some(m) = measure(&doc, operation.as_deref(), variables)? else {
            return Ok(doc);
        };
        *self.measure.lock().unwrap_or_else(|p| p.into_inner()) = Some(m);
        let max_depth = if m.introspection {
            INTROSPECTION_DEPTH
        } else {
            MAX_DEPTH
        };
        if m.depth > max_depth {
            return Err(refuse(
                format!("the query is nested {} deep; at most {max_depth}", m.depth),
                "MAX_DEPTH_EXCEEDED",
            ));
        }
        if !m.introspection && m.cost > MAX_COST {
            return Err(refuse(
                format!("the query costs {} points; at most {MAX_COST}", m.cost),
                "MAX_COST_EXCEEDED",
            ));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| coded(e, "GRAPHQL_VALIDATION_FAILED"))
                .collect::<Vec<_>>()
        })?;
        if let (Some(gate), Some(m)) = (ctx.data_opt::<Arc<Gate>>(), self.measured()) {
            let cost = if m.introspection { 1 } else { m.cost };
            gate.state().requested = Some(cost);
            gate.charge(cost).await.map_err(|e| vec![e])?;
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_charged_as_requests() {
        assert_eq!(requests_for(0), 1);
        assert_eq!(requests_for(1), 1);
        assert_eq!(requests_for(41), 5);
        assert_eq!(requests_for(1000), 100);
        assert_eq!(requests_for(u64::MAX), u32::MAX);
    }
}
