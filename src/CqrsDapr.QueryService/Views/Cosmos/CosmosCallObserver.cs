using System.Diagnostics.Metrics;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Views.Cosmos;

/// <summary>
/// What every Cosmos DB call of the view store reports: its request charge as a metric
/// (<c>cqrsdapr.viewstore.cosmos.request_charge</c>, RU by operation), and, when it took longer than
/// <see cref="CosmosViewStoreOptions.DiagnosticsThreshold"/> on the client (retries and throttling waits included), its
/// full SDK diagnostics in the log: which endpoint, how many retries, where the time went.
/// </summary>
internal sealed partial class CosmosCallObserver
{
    public const string MeterName = "CqrsDapr.QueryService.ViewStore";

    private readonly TimeSpan threshold;
    private readonly ILogger logger;
    private readonly Histogram<double> requestCharge;

    public CosmosCallObserver(IOptions<CosmosViewStoreOptions> options, ILogger<CosmosCallObserver> logger, IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meters);
        threshold = options.Value.DiagnosticsThreshold;
        this.logger = logger;
        requestCharge = meters.Create(MeterName).CreateHistogram<double>("cqrsdapr.viewstore.cosmos.request_charge", "RU", "Request units each Cosmos DB call of the view store cost.");
    }

    public void Observe(string operation, ResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        requestCharge.Record(response.Headers.RequestCharge, new KeyValuePair<string, object?>("operation", operation));
        var elapsed = response.Diagnostics.GetClientElapsedTime();
        if (elapsed > threshold)
        {
            LogSlow(logger, operation, elapsed.TotalMilliseconds, (int)response.StatusCode, response.Headers.RequestCharge, response.Diagnostics.ToString());
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cosmos DB {Operation} took {ElapsedMs:0.0} ms (status {Status}, {RequestCharge} RU). Diagnostics: {Diagnostics}")]
    private static partial void LogSlow(ILogger logger, string operation, double elapsedMs, int status, double requestCharge, string diagnostics);
}
