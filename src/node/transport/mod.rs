//! TCP transport: checksummed frames, the peer transport between members, and
//! the client port's server side.

pub mod client_port;
pub mod frame;
pub mod peer;
pub mod send_queue;

pub use frame::{Frame, FrameCodec, FrameError, FRAME_VERSION};
pub use peer::{SendError, Transport, TransportError, TransportStats};
pub use send_queue::SendQueue;
