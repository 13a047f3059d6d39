//! Plan: a host's resolved resources and its facts in, a [`planner::HostPlan`]
//! out.
//!
//! Resources are ordered (petgraph), each is compared with the state the
//! earlier ones leave behind ([`change::HostState`]) and yields [`change::Change`]s,
//! the contract with apply. The [`ledger`] says why a change is there (drift,
//! intent, new); [`saved_plan`] writes and gates `--out` plan files;
//! [`block_merge`] is the managed-block format inside files converge does not own.

pub mod block_merge;
pub mod change;
pub mod expect;
pub mod ledger;
pub mod observed;
pub mod order;
pub mod planner;
pub mod saved_plan;

#[cfg(test)]
mod table_tests;
