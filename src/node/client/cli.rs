//! `synod client`.
