namespace Whitesky.Migration.Replication;

/// <summary>A change source whose baseline can be saved and loaded, so a replication resumes after a restart.</summary>
public interface IChangeSourceState
{
    /// <summary>Writes the committed baseline.</summary>
    Task SaveStateAsync(Stream destination, CancellationToken cancellationToken = default);

    /// <summary>Reads a baseline written by <see cref="SaveStateAsync"/> for the same source.</summary>
    /// <exception cref="InvalidDataException">The state belongs to another source, or is damaged.</exception>
    Task LoadStateAsync(Stream source, CancellationToken cancellationToken = default);
}
