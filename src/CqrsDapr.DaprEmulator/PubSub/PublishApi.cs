using System.Text.Json;
using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.Hosting;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>One entry of a bulk publish request.</summary>
internal sealed record BulkPublishEntry(string EntryId, ReadOnlyMemory<byte> Data, string? ContentType, IReadOnlyDictionary<string, string> Metadata);

internal sealed record BulkPublishFailure(string EntryId, string Error);

/// <summary>
/// The publish building block shared by the gRPC and HTTP APIs (daprd 1.16 <c>pkg/api/universal</c> publish path):
/// name checks, envelope construction (§2.1 of the contract) and the outbound resiliency policy of the component.
/// </summary>
internal sealed class PublishApi(ComponentRegistry registry, EmulatorOptions options, LoadedResources resources)
{
    public PubSubEntry Resolve(string pubsubName, string topic)
    {
        if (string.IsNullOrEmpty(pubsubName))
        {
            throw DaprApiException.PubSubEmpty();
        }

        if (registry.PubSubs.Count == 0)
        {
            throw DaprApiException.PubSubNotConfigured();
        }

        if (!registry.PubSubs.TryGetValue(pubsubName, out var entry))
        {
            throw DaprApiException.PubSubNotFound(pubsubName);
        }

        return string.IsNullOrEmpty(topic) ? throw DaprApiException.TopicEmpty(pubsubName) : entry;
    }

    public async Task PublishAsync(
        string pubsubName,
        string topic,
        ReadOnlyMemory<byte> data,
        string? contentType,
        IReadOnlyDictionary<string, string> metadata,
        string? traceParent,
        string? traceState,
        CancellationToken cancellationToken)
    {
        var entry = Resolve(pubsubName, topic);
        var envelope = BuildEnvelope(entry, topic, data, contentType, metadata, traceParent, traceState);
        await PublishWithPolicyAsync(entry, topic, envelope, metadata, cancellationToken);
    }

    /// <summary>
    /// daprd 1.16 publishes the entries of a bulk request one by one when the component has no native bulk publish
    /// (Redis and in-memory have none), concurrently, and reports the entries that failed.
    /// </summary>
    public async Task<IReadOnlyList<BulkPublishFailure>> BulkPublishAsync(
        string pubsubName,
        string topic,
        IReadOnlyList<BulkPublishEntry> entries,
        IReadOnlyDictionary<string, string> requestMetadata,
        string? traceParent,
        string? traceState,
        CancellationToken cancellationToken)
    {
        var entry = Resolve(pubsubName, topic);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (string.IsNullOrEmpty(e.EntryId) || !seen.Add(e.EntryId))
            {
                throw new DaprApiException("ERR_PUBSUB_EVENTS_SER", "entryId is duplicated or empty", Grpc.Core.StatusCode.InvalidArgument, 400);
            }
        }

        var envelopes = entries.Select(e =>
        {
            var metadata = Merge(requestMetadata, e.Metadata);
            return (e.EntryId, Envelope: BuildEnvelope(entry, topic, e.Data, e.ContentType, metadata, traceParent, traceState), Metadata: metadata);
        }).ToList();

        var failures = new System.Collections.Concurrent.ConcurrentBag<BulkPublishFailure>();
        await Parallel.ForEachAsync(envelopes, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (item, ct) =>
        {
            try
            {
                await PublishWithPolicyAsync(entry, topic, item.Envelope, item.Metadata, ct);
            }
            catch (DaprApiException ex)
            {
                failures.Add(new BulkPublishFailure(item.EntryId, ex.Message));
            }
        });
        return failures.ToList();
    }

    private byte[] BuildEnvelope(PubSubEntry entry, string topic, ReadOnlyMemory<byte> data, string? contentType, IReadOnlyDictionary<string, string> metadata, string? traceParent, string? traceState)
    {
        if (CloudEvents.IsRawPayload(metadata))
        {
            return data.ToArray();
        }

        var trace = string.IsNullOrEmpty(traceParent) ? CloudEvents.NewTraceParent() : traceParent;
        if (contentType is not null && contentType.StartsWith(CloudEvents.ContentType, StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                return CloudEvents.FromCloudEvent(entry.Definition.Name, topic, data.Span, trace, traceState ?? "");
            }
            catch (JsonException ex)
            {
                throw DaprApiException.CloudEventsSerialization(ex.Message);
            }
        }

        return CloudEvents.NewEnvelope(options.AppId, entry.Definition.Name, topic, data.Span, contentType, metadata, trace, traceState ?? "", addExpiration: !entry.PubSub.HasNativeMessageTtl);
    }

    private async Task PublishWithPolicyAsync(PubSubEntry entry, string topic, byte[] envelope, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var policy = resources.ComponentPolicies.GetValueOrDefault(entry.Definition.Name);
        var attempt = 0;
        while (true)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                if (policy?.OutboundTimeout is { } limit)
                {
                    timeout.CancelAfter(limit);
                }

                await entry.PubSub.PublishAsync(topic, envelope, metadata, timeout.Token);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (policy?.OutboundRetry is { } retry && (retry.MaxRetries < 0 || attempt < retry.MaxRetries))
                {
                    await Task.Delay(retry.DelayFor(attempt++), cancellationToken);
                    continue;
                }

                throw DaprApiException.PublishFailed(topic, entry.Definition.Name, ex.Message);
            }
        }
    }

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> request, IReadOnlyDictionary<string, string> entry)
    {
        var merged = new Dictionary<string, string>(request, StringComparer.Ordinal);
        foreach (var (k, v) in entry)
        {
            merged[k] = v;
        }

        return merged;
    }
}
