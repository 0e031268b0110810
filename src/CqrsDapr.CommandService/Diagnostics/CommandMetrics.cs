using System.Diagnostics.Metrics;

namespace CqrsDapr.CommandService.Diagnostics;

/// <summary>
/// <c>cqrsdapr.commands</c>: commands handled, tagged with <c>command</c> (create, update, adjust-stock, delete) and
/// <c>outcome</c> (accepted, unchanged, replayed, rejected-validation, not-found, conflict, precondition-failed,
/// idempotency-key-reused, unsupported-media-type, payload-too-large, timed-out, error).
/// </summary>
internal sealed class CommandMetrics
{
    public const string CounterName = "cqrsdapr.commands";

    private readonly Counter<long> commands;

    public CommandMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(CommandServiceTelemetry.MeterName);
        commands = meter.CreateCounter<long>(CounterName, unit: "{command}", description: "Commands handled, by command and outcome.");
    }

    public void Record(string command, string outcome) =>
        commands.Add(1, new KeyValuePair<string, object?>("command", command), new KeyValuePair<string, object?>("outcome", outcome));
}

/// <summary>
/// Counts every call of a command endpoint once, by outcome: what the handler named in
/// <see cref="SetOutcome"/>, else what the response status says.
/// </summary>
internal sealed class CommandOutcomeFilter(string command) : IEndpointFilter
{
    private const string OutcomeItem = "cqrsdapr.command-outcome";

    public static void SetOutcome(HttpContext context, string outcome)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Items[OutcomeItem] = outcome;
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var metrics = context.HttpContext.RequestServices.GetRequiredService<CommandMetrics>();
        try
        {
            var result = await next(context);
            metrics.Record(command, context.HttpContext.Items[OutcomeItem] as string ?? FromStatus(StatusOf(result)));
            return result;
        }
        catch
        {
            metrics.Record(command, "error");
            throw;
        }
    }

    private static int? StatusOf(object? result) => result switch
    {
        INestedHttpResult nested => StatusOf(nested.Result),
        IStatusCodeHttpResult status => status.StatusCode,
        _ => null,
    };

    private static string FromStatus(int? status) => status switch
    {
        >= 200 and < 300 => "accepted",
        StatusCodes.Status400BadRequest => "rejected-validation",
        StatusCodes.Status404NotFound => "not-found",
        StatusCodes.Status409Conflict => "conflict",
        StatusCodes.Status412PreconditionFailed => "precondition-failed",
        StatusCodes.Status413PayloadTooLarge => "payload-too-large",
        StatusCodes.Status415UnsupportedMediaType => "unsupported-media-type",
        StatusCodes.Status422UnprocessableEntity => "idempotency-key-reused",
        _ => "error",
    };
}
