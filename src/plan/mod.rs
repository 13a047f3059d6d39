//! Plan: a host's resolved resources, its typed [`crate::host::facts::Facts`]
//! and its [`ledger::HostLedger`] in, a [`planner::HostPlan`] out. No I/O:
//! [`planner::queries`] says what the facts round trip must read, the caller
//! gathers the facts and loads the ledger, and [`planner::plan`] is a function
//! of what it is given.
//!
//! [`observed`] reads the facts into what resources see of the host and the
//! state the plan starts from ([`change::HostState`]). Resources are ordered
//! ([`order`]: `after`, the kinds' own ordering, paths), each is compared with
//! the state the earlier ones leave behind and yields [`change::Change`]s, the
//! contract with apply, and [`expect::Expect`]s, what `verify` checks. The
//! [`ledger`] says why a change is there (drift, intent, new); [`saved_plan`]
//! writes and gates `--out` plan files; [`block_merge`] is the managed-block
//! format inside files converge does not own; [`prune`] removes what the
//! ledger says converge wrote for resources that left the playbook.

pub mod block_merge;
pub mod change;
pub mod expect;
pub mod ledger;
pub mod observed;
pub mod order;
pub mod planner;
pub mod prune;
pub mod saved_plan;

#[cfg(test)]
mod table_tests;
