//! The Lua script that checks a request's cells in one Redis round trip.

use super::*;

/// Atomic GCRA in Redis for a batch of requests, in order, each over its
/// cells. KEYS = every request's cells' keys in turn; ARGV = for each
/// request, its number of cells, then the emission µs and tolerance µs of
/// each of its cells. A request is counted in every cell or in none: when
/// one cell refuses, the others are left as they were, so a tenant at its
/// ceiling does not also drain its callers' own buckets, and a caller
/// refused by its own bucket takes nothing from its tenant's ceiling. A
/// request sees what the requests before it in the batch took, exactly as
/// if each had been a script call of its own; each key is read and written
/// once per batch. Replies, per cell of each request: allowed (1/0), µs
/// from now to the TAT (as it would be after this request when allowed), µs
/// until a request would be allowed (when refused). Time comes from the
/// Redis server, so replicas agree on it.
pub(super) const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats, changed, reply = {}, {}, {}
local k, a = 1, 1
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  a = a + 1
  local new_tats, all = {}, true
  for i = 0, n - 1 do
    local key = KEYS[k + i]
    local emission = tonumber(ARGV[a + 2 * i])
    local tolerance = tonumber(ARGV[a + 2 * i + 1])
    local tat = tats[key]
    if tat == nil then
      tat = tonumber(redis.call('GET', key) or now)
      tats[key] = tat
    end
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
    for i = 0, n - 1 do
      tats[KEYS[k + i]] = new_tats[i]
      changed[KEYS[k + i]] = true
    end
  end
  k = k + n
  a = a + 2 * n
end
for key in pairs(changed) do
  local ahead = tats[key] - now
  redis.call('SET', key, string.format('%d', tats[key]), 'PX', math.ceil(ahead / 1000))
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
    /// Units the request draws from each cell (1 but for GraphQL's cost).
    pub(super) cost: u32,
}

impl Cells {
    pub(super) fn iter(&self) -> impl Iterator<Item = &Cell> {
        std::iter::once(&self.own).chain(self.ceiling.as_ref())
    }

    pub(super) fn len(&self) -> usize {
        1 + usize::from(self.ceiling.is_some())
    }

    /// What requests share to be checked in one script call: their keys
    /// then live in one Redis Cluster slot (a tenant's keys share its hash
    /// tag; keys without a tenant are checked alone).
    pub(super) fn slot(&self) -> &str {
        self.ceiling.as_ref().map_or(&self.own.key, |c| &c.key)
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
