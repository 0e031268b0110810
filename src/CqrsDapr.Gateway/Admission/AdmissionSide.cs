namespace CqrsDapr.Gateway.Admission;

/// <summary>A backend side of the gateway, limited on its own so that a flood of one never starves the other.</summary>
public enum AdmissionSide
{
    /// <summary>GET and HEAD: the query service.</summary>
    Reads,

    /// <summary>POST, PUT, PATCH and DELETE: the command service.</summary>
    Writes,
}

/// <summary>Which side a forwarded request is on: the cluster of its route, or for any other cluster its method.</summary>
internal static class AdmissionSides
{
    /// <summary>The cluster ids of the route table (appsettings.json), the services' Dapr app-ids.</summary>
    public const string ReadCluster = "query-service";

    public const string WriteCluster = "command-service";

    public static AdmissionSide? OfCluster(string? clusterId) => clusterId switch
    {
        ReadCluster => AdmissionSide.Reads,
        WriteCluster => AdmissionSide.Writes,
        _ => null,
    };

    public static AdmissionSide Of(string? clusterId, string method) =>
        OfCluster(clusterId) ?? (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? AdmissionSide.Reads : AdmissionSide.Writes);

    /// <summary>The side's name in metrics, logs and problem details.</summary>
    public static string Name(this AdmissionSide side) => side == AdmissionSide.Reads ? "reads" : "writes";
}
