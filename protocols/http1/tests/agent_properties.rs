//! Properties of `Agent` (`docs/node-semantics.md#http-agent`): random sequences of requests,
//! cancels, connects, connect failures, completions, failures, closes and timeouts, checked
//! against a model of what the driver knows.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sansnet_http1::{
    Agent, AgentAction, AgentConfig, ConnectionId, Origin, PoolRequestId, Scheduling,
};

#[derive(Debug, Clone)]
enum Op {
    Request { origin: usize, one_off: bool },
    Cancel(usize),
    Connected(usize),
    ConnectFailed(usize),
    Done { pick: usize, reusable: bool },
    Failed { pick: usize, retryable: bool },
    Closed(usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, prop::bool::weighted(0.15))
            .prop_map(|(origin, one_off)| Op::Request { origin, one_off }),
        1 => any::<usize>().prop_map(Op::Cancel),
        4 => any::<usize>().prop_map(Op::Connected),
        1 => any::<usize>().prop_map(Op::ConnectFailed),
        4 => (any::<usize>(), prop::bool::weighted(0.8))
            .prop_map(|(pick, reusable)| Op::Done { pick, reusable }),
        1 => (any::<usize>(), any::<bool>())
            .prop_map(|(pick, retryable)| Op::Failed { pick, retryable }),
        1 => any::<usize>().prop_map(Op::Closed),
        1 => (0..4000u64).prop_map(Op::Advance),
    ]
}

fn config() -> impl Strategy<Value = AgentConfig> {
    (
        any::<bool>(),
        prop::option::of(1..4usize),
        prop::option::of(1..5usize),
        0..3usize,
        prop::option::of(1..3000u64),
        any::<bool>(),
    )
        .prop_map(
            |(keep_alive, max_sockets, max_total_sockets, max_free_sockets, timeout, fifo)| {
                AgentConfig {
                    keep_alive,
                    max_sockets,
                    max_total_sockets,
                    max_free_sockets,
                    free_socket_timeout: timeout.map(Duration::from_millis),
                    scheduling: if fifo {
                        Scheduling::Fifo
                    } else {
                        Scheduling::Lifo
                    },
                    ..AgentConfig::default()
                }
            },
        )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Waiting,
    Assigned(ConnectionId),
    Done,
    Failed,
    Cancelled,
}

/// What a driver knows about the agent's connections and requests.
#[derive(Debug)]
struct Model {
    agent: Agent,
    config: AgentConfig,
    now: Instant,
    origins: Vec<Origin>,
    requests: BTreeMap<PoolRequestId, (Origin, bool, Fate)>,
    /// Every connection ever asked for: its origin and whether it is one-off.
    known: BTreeMap<ConnectionId, (Origin, bool)>,
    connecting: BTreeSet<ConnectionId>,
    /// Connected and carrying nothing (pooled).
    idle: BTreeSet<ConnectionId>,
    busy: BTreeMap<ConnectionId, (PoolRequestId, bool)>,
    /// Connections that carried a request.
    used: BTreeSet<ConnectionId>,
    /// Requests put back in the queue after a reused connection failed (RFC 9112 §9.3.1).
    retried: BTreeSet<PoolRequestId>,
}

impl Model {
    fn new(config: AgentConfig) -> Self {
        Self {
            agent: Agent::new(config.clone()),
            config,
            now: Instant::now(),
            origins: vec![
                Origin::new("http", "a.example", 80),
                Origin::new("http", "b.example", 80),
                Origin::new("https", "a.example", 443),
            ],
            requests: BTreeMap::new(),
            known: BTreeMap::new(),
            connecting: BTreeSet::new(),
            idle: BTreeSet::new(),
            busy: BTreeMap::new(),
            used: BTreeSet::new(),
            retried: BTreeSet::new(),
        }
    }

    fn finish(&mut self, request: PoolRequestId, fate: Fate) -> Result<(), TestCaseError> {
        let entry = self.requests.get_mut(&request).expect("known request");
        prop_assert!(
            matches!(entry.2, Fate::Waiting | Fate::Assigned(_)),
            "{request:?} ends twice: {:?} then {fate:?}",
            entry.2
        );
        entry.2 = fate;
        Ok(())
    }

    /// Carry out the agent's actions; `one_off` marks the connection of a one-off request.
    fn drain(&mut self, one_off: bool) -> Result<(), TestCaseError> {
        let mut first = true;
        while let Some(action) = self.agent.poll_action() {
            match action {
                AgentAction::Connect { connection, origin } => {
                    prop_assert!(!self.known.contains_key(&connection), "id reused");
                    self.known.insert(connection, (origin, one_off && first));
                    self.connecting.insert(connection);
                }
                AgentAction::Assign {
                    request,
                    connection,
                    reused,
                } => {
                    prop_assert!(self.idle.remove(&connection), "{connection:?} not idle");
                    let (origin, _, fate) = &self.requests[&request];
                    prop_assert_eq!(*fate, Fate::Waiting);
                    prop_assert_eq!(origin, &self.known[&connection].0);
                    prop_assert_eq!(reused, self.used.contains(&connection));
                    prop_assert!(
                        !(reused && self.retried.contains(&request)),
                        "retried {request:?} on a reused connection"
                    );
                    self.used.insert(connection);
                    self.busy.insert(connection, (request, reused));
                    self.requests.get_mut(&request).expect("known").2 = Fate::Assigned(connection);
                }
                AgentAction::Close { connection } => {
                    prop_assert!(self.idle.remove(&connection), "{connection:?} not idle");
                }
                AgentAction::Fail { request, .. } => {
                    prop_assert_eq!(self.requests[&request].2, Fate::Waiting);
                    self.finish(request, Fate::Failed)?;
                }
                other => prop_assert!(false, "unknown action {other:?}"),
            }
            first = false;
        }
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        let now = self.now;
        match op {
            Op::Request { origin, one_off } => {
                let origin = self.origins[origin].clone();
                let id = self.agent.request(now, origin.clone(), one_off);
                prop_assert!(!self.requests.contains_key(&id));
                self.requests.insert(id, (origin, one_off, Fate::Waiting));
                return self.drain(one_off);
            }
            Op::Cancel(pick) => {
                if let Some(id) = pick_from(self.requests.keys().copied(), pick) {
                    self.agent.cancel(now, id);
                    if self.requests[&id].2 == Fate::Waiting {
                        self.finish(id, Fate::Cancelled)?;
                    }
                }
            }
            Op::Connected(pick) => {
                if let Some(id) = pick_from(self.connecting.iter().copied(), pick) {
                    self.connecting.remove(&id);
                    self.idle.insert(id);
                    self.agent.handle_connected(now, id);
                }
            }
            Op::ConnectFailed(pick) => {
                if let Some(id) = pick_from(self.connecting.iter().copied(), pick) {
                    self.connecting.remove(&id);
                    self.agent
                        .handle_connect_failed(now, id, ErrorKind::ConnectionRefused);
                }
            }
            Op::Done { pick, reusable } => {
                if let Some(id) = pick_from(self.busy.keys().copied(), pick) {
                    let (request, _) = self.busy.remove(&id).expect("busy");
                    self.finish(request, Fate::Done)?;
                    self.idle.insert(id);
                    self.agent.handle_done(now, id, reusable);
                }
            }
            Op::Failed { pick, retryable } => {
                if let Some(id) = pick_from(self.busy.keys().copied(), pick) {
                    let (request, reused) = self.busy.remove(&id).expect("busy");
                    let retried = self.agent.handle_failed(now, id, retryable);
                    prop_assert_eq!(retried, retryable && reused);
                    if retried {
                        self.retried.insert(request);
                        self.requests.get_mut(&request).expect("known").2 = Fate::Waiting;
                    } else {
                        self.finish(request, Fate::Failed)?;
                    }
                }
            }
            Op::Closed(pick) => {
                if let Some(id) = pick_from(self.known.keys().copied(), pick) {
                    if let Some((request, _)) = self.busy.remove(&id) {
                        self.finish(request, Fate::Failed)?;
                    }
                    self.connecting.remove(&id);
                    self.idle.remove(&id);
                    self.agent.handle_closed(now, id);
                }
            }
            Op::Advance(ms) => {
                self.now += Duration::from_millis(ms);
                if let Some(deadline) = self.agent.poll_timeout() {
                    prop_assert!(deadline > now, "deadline passed unhandled");
                    if deadline <= self.now {
                        self.agent.handle_timeout(self.now);
                    }
                }
            }
        }
        self.drain(false)
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let max_sockets = self.config.max_sockets.unwrap_or(usize::MAX);
        let max_total = self.config.max_total_sockets.unwrap_or(usize::MAX);
        let pooled = |id: &ConnectionId| !self.known[id].1;
        for origin in &self.origins {
            let busy = self.agent.busy(origin);
            let free = self.agent.free(origin);
            prop_assert!(busy <= max_sockets, "busy {busy} > {max_sockets}");
            prop_assert!(free <= self.config.max_free_sockets);
            let active = self
                .connecting
                .iter()
                .chain(self.busy.keys())
                .filter(|id| &self.known[*id].0 == origin)
                .filter(|id| pooled(id))
                .count();
            prop_assert_eq!(busy, active);
            prop_assert_eq!(
                free,
                self.idle
                    .iter()
                    .filter(|id| &self.known[*id].0 == origin)
                    .count()
            );
            let waiting = self
                .requests
                .values()
                .filter(|(o, one_off, fate)| o == origin && !one_off && *fate == Fate::Waiting)
                .count();
            prop_assert_eq!(self.agent.queued(origin), waiting);
        }
        let total = self.agent.total_sockets();
        prop_assert!(total <= max_total, "total {total} > {max_total}");
        let open = self
            .connecting
            .iter()
            .chain(self.idle.iter())
            .chain(self.busy.keys());
        prop_assert_eq!(total, open.filter(|id| pooled(id)).count());
        prop_assert!(self.idle.iter().all(pooled), "one-off connection left idle");
        for (id, (_, _, fate)) in &self.requests {
            let expected = match fate {
                Fate::Assigned(connection) => Some(*connection),
                _ => None,
            };
            prop_assert_eq!(self.agent.connection_of(*id), expected);
        }
        if let Some(deadline) = self.agent.poll_timeout() {
            prop_assert!(!self.idle.is_empty() && deadline > self.now);
        }
        Ok(())
    }

    /// Connect everything and finish everything until nothing is left to do.
    fn settle(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..10_000 {
            if let Some(&id) = self.connecting.first() {
                self.apply(Op::Connected(0))?;
                prop_assert!(!self.connecting.contains(&id));
            } else if !self.busy.is_empty() {
                self.apply(Op::Done {
                    pick: 0,
                    reusable: true,
                })?;
            } else {
                break;
            }
            self.check()?;
        }
        for (id, (_, _, fate)) in &self.requests {
            prop_assert!(
                matches!(fate, Fate::Done | Fate::Failed | Fate::Cancelled),
                "{id:?} left {fate:?}"
            );
        }
        prop_assert_eq!(self.agent.total_sockets(), self.idle.len());
        Ok(())
    }
}

fn pick_from<T>(mut items: impl ExactSizeIterator<Item = T>, pick: usize) -> Option<T> {
    let len = items.len();
    if len == 0 {
        return None;
    }
    items.nth(pick % len)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// docs/node-semantics.md#http-agent: no panic; busy per origin within `max_sockets`, pooled
    /// total within `max_total_sockets`, free within `max_free_sockets`; every request ends exactly
    /// once (done, failed or cancelled), and once everything connects and finishes none is left.
    #[test]
    fn agent_random_operations_keep_limits_and_end_every_request_once(
        config in config(),
        ops in prop::collection::vec(op(), 0..120),
    ) {
        let mut model = Model::new(config);
        for op in ops {
            model.apply(op)?;
            model.check()?;
        }
        model.settle()?;
    }
}
