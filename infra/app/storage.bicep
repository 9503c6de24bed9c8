// The storage account: no shared keys (identity only), the Functions host's blobs/queues/tables (incl. Durable
// Functions' task hub), the app's OAuth and proposal tables, and the container Flex Consumption deploys from.
param name string
param location string
param tags object
param deploymentContainerName string

// The OAuth proxy's tables (dataverse/oauth/models.py COLLECTIONS, no table prefix). Pre-creating them makes the
// layout visible in the portal; the app also creates any missing table on first use (Table Data Contributor allows it),
// so a table added in code works before it is added here.
@description('Tables pre-created for the app.')
param appTableNames array = [
  'oauthclients'
  'oauthtransactions'
  'oauthstates'
  'oauthcodes'
  'oauthgrants'
  'oauthrefreshtokens'
  'oauthaccesstokens'
  'oauthratelimits'
  'oauthdataversetokens'
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in appTableNames: {
    parent: tableService
    name: tableName
  }
]

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
var tableEndpoint = account.properties.primaryEndpoints.table // ends with '/'; STORAGE_TABLE_ENDPOINT has none
output tableEndpoint string = endsWith(tableEndpoint, '/') ? take(tableEndpoint, length(tableEndpoint) - 1) : tableEndpoint
output deploymentContainerName string = deploymentContainer.name
