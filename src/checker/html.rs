//! Self-contained HTML timelines of checked histories.
