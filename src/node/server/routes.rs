//! Which client connection a core reply goes to.
//!
//! The core's replies name `(client_id, seq)`, not a connection: the core
//! knows nothing of sockets. The core thread remembers, per client, the
//! connection of its latest request (a client that reconnects and retries
//! moves its route to the new connection) and forgets a connection's clients
//! when it closes. Bounded: past `max_clients` a new client is refused.

use std::collections::{BTreeMap, BTreeSet};

use crate::node::transport::client_port::ConnectionId;

/// The reply routes of one node (owned by the core thread).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    by_client: BTreeMap<u64, ConnectionId>,
    by_conn: BTreeMap<ConnectionId, BTreeSet<u64>>,
    max_clients: usize,
}

/// A new client was refused: the table holds `max_clients` clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the node serves {0} clients already")]
pub struct RoutesFull(pub usize);

impl Routes {
    /// An empty table holding at most `max_clients` clients.
    pub fn new(max_clients: usize) -> Routes {
        Routes {
            max_clients,
            ..Routes::default()
        }
    }

    /// Routes `client_id`'s replies to `conn` from now on.
    pub fn insert(&mut self, client_id: u64, conn: ConnectionId) -> Result<(), RoutesFull> {
        match self.by_client.get(&client_id) {
            Some(&old) if old == conn => return Ok(()),
            Some(&old) => self.unlink(old, client_id),
            None if self.by_client.len() >= self.max_clients => {
                return Err(RoutesFull(self.max_clients))
            }
            None => {}
        }
        self.by_client.insert(client_id, conn);
        self.by_conn.entry(conn).or_default().insert(client_id);
        Ok(())
    }

    /// The connection of `client_id`'s latest request, if it is open.
    pub fn get(&self, client_id: u64) -> Option<ConnectionId> {
        self.by_client.get(&client_id).copied()
    }

    /// Forgets connection `conn` and its clients.
    pub fn close(&mut self, conn: ConnectionId) {
        for client in self.by_conn.remove(&conn).unwrap_or_default() {
            self.by_client.remove(&client);
        }
    }

    /// Clients routed now.
    pub fn len(&self) -> usize {
        self.by_client.len()
    }

    /// Whether no client is routed.
    pub fn is_empty(&self) -> bool {
        self.by_client.is_empty()
    }

    fn unlink(&mut self, conn: ConnectionId, client_id: u64) {
        if let Some(set) = self.by_conn.get_mut(&conn) {
            set.remove(&client_id);
            if set.is_empty() {
                self.by_conn.remove(&conn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_on_a_new_connection_moves_the_route_and_close_forgets_it() {
        let mut r = Routes::new(2);
        r.insert(7, 1).unwrap();
        r.insert(7, 2).unwrap();
        assert_eq!(r.get(7), Some(2));
        r.close(1);
        assert_eq!(
            r.get(7),
            Some(2),
            "closing the old connection keeps the new route"
        );
        r.close(2);
        assert_eq!(r.get(7), None);
        assert!(r.is_empty());
    }

    #[test]
    fn a_full_table_refuses_new_clients_but_not_known_ones() {
        let mut r = Routes::new(1);
        r.insert(1, 10).unwrap();
        assert_eq!(r.insert(2, 10), Err(RoutesFull(1)));
        assert_eq!(r.insert(1, 11), Ok(()));
        assert_eq!(r.len(), 1);
    }
}
