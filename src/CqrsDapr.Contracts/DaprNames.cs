namespace CqrsDapr.Contracts;

/// <summary>Dapr names, identical in every environment (Aspire, <c>dapr run -f</c>, Helm).</summary>
public static class DaprNames
{
    public const string CommandService = "command-service";
    public const string QueryService = "query-service";
    public const string PubSub = "pubsub";
    public const string ViewStore = "viewstore";
    public const string ActorStore = "actorstore";
}

/// <summary>Pub/sub topics. Poison events go to <c>&lt;topic&gt;-deadletter</c>.</summary>
public static class Topics
{
    public const string Products = "products";
    public const string Orders = "orders";

    public static string DeadLetterOf(string topic) => topic + "-deadletter";
}
