//! Reading a body from a server that is not trusted (a witness, a bucket):
//! at most a given number of bytes, refused as soon as it is known to be
//! more.

use futures_util::{Stream, StreamExt as _};

/// Why [`collect`] gave up.
#[derive(Debug)]
pub(crate) enum Capped<E> {
    /// The body is, or was announced as, longer than the cap.
    TooLarge,
    /// Reading a chunk failed.
    Failed(E),
}

/// Appends `chunks` to one buffer. Refuses the body at once if `declared`
/// (a length announced before it) is over `max`, and otherwise as soon as
/// the chunks read pass `max`, without reading the rest.
pub(crate) async fn collect<B: AsRef<[u8]>, E>(
    declared: Option<u64>,
    max: usize,
    chunks: impl Stream<Item = Result<B, E>>,
) -> Result<Vec<u8>, Capped<E>> {
    if declared.is_some_and(|n| n > max as u64) {
        return Err(Capped::TooLarge);
    }
    let mut chunks = std::pin::pin!(chunks);
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(Capped::Failed)?;
        let chunk = chunk.as_ref();
        if body.len() + chunk.len() > max {
            return Err(Capped::TooLarge);
        }
        body.extend_from_slice(chunk);
    }
    Ok(body)
}

/// The chunks of a reqwest response as a stream, for [`collect`].
pub(crate) fn response_chunks(
    response: reqwest::Response,
) -> impl Stream<Item = Result<axum::body::Bytes, reqwest::Error>> {
    futures_util::stream::unfold(response, |mut r| async move { r.chunk().await.transpose().map(|c| (c, r)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(sizes: &[usize]) -> impl Stream<Item = Result<Vec<u8>, &'static str>> {
        futures_util::stream::iter(sizes.iter().map(|&n| Ok(vec![1u8; n])).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn a_body_is_read_up_to_its_cap_and_refused_past_it() {
        assert_eq!(collect(None, 10, chunks(&[4, 6])).await.unwrap(), vec![1; 10]);
        assert!(matches!(collect(None, 10, chunks(&[4, 7])).await, Err(Capped::TooLarge)));
        // An announced length over the cap is refused before any chunk.
        let never = futures_util::stream::iter(vec![Err::<Vec<u8>, _>("read")]);
        assert!(matches!(collect(Some(11), 10, never).await, Err(Capped::TooLarge)));
        let failing = futures_util::stream::iter(vec![Ok(vec![1u8; 2]), Err("reset")]);
        assert!(matches!(collect(Some(10), 10, failing).await, Err(Capped::Failed("reset"))));
    }
}
