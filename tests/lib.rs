//! All integration tests, in one binary.

mod format_props;
