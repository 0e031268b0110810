namespace CqrsDapr.QueryService.DeadLetters;

/// <summary>Where dead-lettered events are kept.</summary>
internal interface IDeadLetterStore
{
    /// <summary>Stores <paramref name="deadLetter"/> unless one with its id exists; false on a redelivery.</summary>
    Task<bool> TryAddAsync(DeadLetter deadLetter, CancellationToken cancellationToken);

    /// <summary>The oldest <paramref name="limit"/> dead letters, in order of arrival.</summary>
    Task<IReadOnlyList<DeadLetter>> ListAsync(int limit, CancellationToken cancellationToken);
}
