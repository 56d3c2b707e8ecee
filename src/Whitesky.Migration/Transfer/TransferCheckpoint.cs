namespace Whitesky.Migration.Transfer;

/// <summary>What a transfer had completed when it was last saved.</summary>
/// <param name="Key">Identifies the source and the target; a checkpoint with another key belongs to another transfer.</param>
/// <param name="TotalBytes">Bytes the transfer covers.</param>
/// <param name="TargetIsZero">Whether the transfer treated the target as reading zero (a resumed run keeps it).</param>
/// <param name="Completed">Ranges whose writes the target made durable, in increasing order, not overlapping.</param>
public sealed record TransferCheckpoint(string Key, long TotalBytes, bool TargetIsZero, IReadOnlyList<TransferRange> Completed)
{
    /// <summary>Bytes in <see cref="Completed"/>.</summary>
    public long CompletedBytes => Completed.Sum(r => r.Length);
}

/// <summary>Keeps the checkpoint of a transfer: a file (<see cref="FileTransferCheckpointStore"/>) or the caller's own store.</summary>
public interface ITransferCheckpointStore
{
    /// <summary>The checkpoint saved for <paramref name="key"/>, or null when there is none.</summary>
    ValueTask<TransferCheckpoint?> LoadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Saves a checkpoint, replacing the previous one atomically.</summary>
    ValueTask SaveAsync(TransferCheckpoint checkpoint, CancellationToken cancellationToken = default);

    /// <summary>Removes the checkpoint of <paramref name="key"/> (the transfer finished).</summary>
    ValueTask DeleteAsync(string key, CancellationToken cancellationToken = default);
}
