//! The `synod check` command.
