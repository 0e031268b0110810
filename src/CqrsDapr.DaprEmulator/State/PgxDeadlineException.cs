namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// A state operation ran out of its store's own timeout (v1's <c>timeout</c> metadata), not the caller's: the error
/// daprd relays is pgx's context error, and the call fails like any store error instead of as a cancellation.
/// </summary>
internal sealed class PgxDeadlineException : Exception
{
    public PgxDeadlineException()
    {
    }

    public PgxDeadlineException(string message)
        : base(message)
    {
    }

    public PgxDeadlineException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
