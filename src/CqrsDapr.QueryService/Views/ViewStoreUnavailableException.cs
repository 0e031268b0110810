namespace CqrsDapr.QueryService.Views;

/// <summary>
/// A view store failed for a reason other than a lost race (throttled beyond its retries, unreachable, a server
/// error). Transient as far as the projection is concerned: the delivery is retried; a query answers 5xx.
/// The Dapr store reports the same through <c>DaprException</c>.
/// </summary>
internal sealed class ViewStoreUnavailableException : Exception
{
    public ViewStoreUnavailableException()
    {
    }

    public ViewStoreUnavailableException(string message)
        : base(message)
    {
    }

    public ViewStoreUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
