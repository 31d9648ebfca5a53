//! Writing pre-built frames straight to the socket. Broadcast frames are
//! encoded once (header and payload) for all recipients; a connection writes
//! them with one (vectored) system call per batch, without copying them into
//! a per-connection buffer that would then stay allocated.

use bytes::Bytes;
use std::io::{self, IoSlice};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The frames of one batch: the first held inline, so the common case of a
/// single frame allocates nothing.
#[derive(Default)]
pub(super) struct Batch {
    first: Option<Bytes>,
    rest: Vec<Bytes>,
}

impl Batch {
    /// Adds a frame.
    pub(super) fn push(&mut self, frame: Bytes) {
        if self.first.is_none() {
            self.first = Some(frame);
        } else {
            self.rest.push(frame);
        }
    }

    /// Frames held.
    pub(super) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Writes every frame, in order.
    pub(super) async fn write_to(&self, stream: &mut TcpStream) -> io::Result<()> {
        let Some(first) = &self.first else {
            return Ok(());
        };
        if self.rest.is_empty() {
            return stream.write_all(first).await;
        }
        let frames: Vec<&Bytes> = std::iter::once(first).chain(&self.rest).collect();
        write_all_vectored(stream, &frames).await
    }
}

/// Writes `frames` back to back, resuming after partial writes.
async fn write_all_vectored(stream: &mut TcpStream, frames: &[&Bytes]) -> io::Result<()> {
    let (mut index, mut offset) = (0, 0);
    while index < frames.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(&frames[index][offset..])
            .chain(frames[index + 1..].iter().map(|f| &f[..]))
            .take(64)
            .map(IoSlice::new)
            .collect();
        let mut written = stream.write_vectored(&slices).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let left = frames[index].len() - offset;
            if written >= left {
                written -= left;
                index += 1;
                offset = 0;
            } else {
                offset += written;
                written = 0;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn batches_arrive_whole_and_in_order() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).await.unwrap();
            all
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut expected = Vec::new();
        let mut batch = Batch::default();
        for i in 0..200u32 {
            // Large enough that the kernel takes it in several partial writes.
            let frame = Bytes::from(vec![(i % 251) as u8; 10_000 + i as usize]);
            expected.extend_from_slice(&frame);
            batch.push(frame);
        }
        assert_eq!(batch.len(), 200);
        batch.write_to(&mut stream).await.unwrap();
        let mut single = Batch::default();
        single.push(Bytes::from_static(b"end"));
        single.write_to(&mut stream).await.unwrap();
        expected.extend_from_slice(b"end");
        drop(stream);
        assert_eq!(reader.await.unwrap(), expected);
    }
}
