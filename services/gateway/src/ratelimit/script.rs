//! The Lua script that checks a request's cells in one Redis round trip.

use super::*;

/// Atomic GCRA over several cells in Redis: KEYS = the cells' keys; ARGV =
/// emission µs and tolerance µs of each cell in turn. A request is counted
/// in every cell or in none: when one cell refuses, the others are left as
/// they were, so a tenant at its ceiling does not also drain its callers'
/// own buckets, and a caller refused by its own bucket takes nothing from
/// its tenant's ceiling. Replies, per cell: allowed (1/0), µs from now to
/// the TAT (as it would be after this request when allowed), µs until a
/// request would be allowed (when refused). Time comes from the Redis
/// server, so replicas agree on it.
pub(super) const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local reply, new_tats, all = {}, {}, true
for i, key in ipairs(KEYS) do
  local emission = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + emission
  local ahead = new_tat - now
  if ahead > tolerance then
    all = false
    reply[#reply + 1] = 0
    reply[#reply + 1] = tat - now
    reply[#reply + 1] = ahead - tolerance
  else
    new_tats[i] = new_tat
    reply[#reply + 1] = 1
    reply[#reply + 1] = ahead
    reply[#reply + 1] = 0
  end
end
if all then
  for i, key in ipairs(KEYS) do
    local ahead = new_tats[i] - now
    redis.call('SET', key, string.format('%d', new_tats[i]), 'PX', math.ceil(ahead / 1000))
  end
end
return reply
"#;

/// One GCRA cell a request draws from: where it is kept and its quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cell {
    pub(super) key: String,
    pub(super) quota: Quota,
}

/// A request's cells: its own bucket and, with a tenant, the tenant's ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cells {
    pub(super) own: Cell,
    pub(super) ceiling: Option<Cell>,
}

impl Cells {
    pub(super) fn iter(&self) -> impl Iterator<Item = &Cell> {
        std::iter::once(&self.own).chain(self.ceiling.as_ref())
    }

    /// The verdict from each cell's decision, in the order of `iter`.
    pub(super) fn verdict(
        &self,
        mut decisions: impl Iterator<Item = Decision>,
    ) -> Option<Decision> {
        let own = decisions.next()?;
        let ceiling = match self.ceiling {
            Some(_) => Some(decisions.next()?),
            None => None,
        };
        Some(verdict(own, ceiling))
    }
}
